//! runsc as a Podman runtime (`[engine.runtimes]` in containers.conf,
//! `podman --runtime runsc`): conmon runs it with runc's verbs and no global
//! flags. Podman keeps all its state in a private directory
//! (`runsc_tests::daemons::Podman`); the image is the local busybox OCI
//! archive.

use runsc_tests::daemons::{require_tools, Podman};
use runsc_tests::images::{busybox, BUSYBOX_REF};
use runsc_tests::{run_with_input, runsc_bin, unique_name, Output};

const TOOLS: [&str; 4] = ["podman", "conmon", "umoci", "skopeo"];

fn setup() -> Option<Podman> {
    if !require_tools(&TOOLS) {
        return None;
    }
    let image = busybox();
    let runsc = runsc_bin();
    let p = Podman::new(&[("runsc", runsc.as_path())]);
    let archive = image.oci_archive.display().to_string();
    let out = p.podman(["load", "-i", &archive]);
    assert!(out.success(), "{out}");
    Some(p)
}

fn run_argv(p: &Podman, flags: &[&str], args: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = ["--runtime", "runsc", "run", "--cgroup-parent"]
        .map(String::from)
        .to_vec();
    argv.push(p.cgroup_parent());
    argv.extend(flags.iter().map(|s| s.to_string()));
    argv.push(BUSYBOX_REF.into());
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

fn podman_run(p: &Podman, flags: &[&str], args: &[&str]) -> Output {
    p.podman(run_argv(p, flags, args))
}

#[test]
fn podman_run_output_exit_codes_and_exec() {
    let Some(p) = setup() else { return };
    let out = podman_run(&p, &["--rm"], &["sh", "-c", "exit 7"]);
    assert_eq!(out.code(), Some(7), "{out}");

    let out = podman_run(&p, &["--rm"], &["echo", "hello from podman"]);
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "hello from podman\n", "{out}");

    let cmd = p.podman_command(run_argv(&p, &["--rm", "-i"], &["sh", "-c", "cat; echo done"]));
    let out = run_with_input(cmd, b"via stdin\n", runsc_tests::default_timeout());
    assert!(out.success(), "{out}");
    assert_eq!(out.stdout_str(), "via stdin\ndone\n", "{out}");

    let name = unique_name("sleeper");
    let out = podman_run(&p, &["-d", "--name", &name], &["sleep", "100"]);
    assert!(out.success(), "{out}");
    let out = p.podman(["exec", &name, "sh", "-c", "echo from exec; exit 4"]);
    assert_eq!(out.code(), Some(4), "{out}");
    assert_eq!(out.stdout_str(), "from exec\n", "{out}");
    let out = p.podman(["pause", &name]);
    assert!(out.success(), "{out}");
    let out = p.podman(["inspect", "-f", "{{.State.Status}}", &name]);
    assert_eq!(out.stdout_str().trim(), "paused", "{out}");
    let out = p.podman(["unpause", &name]);
    assert!(out.success(), "{out}");
    let out = p.podman(["exec", &name, "echo", "thawed"]);
    assert_eq!(out.stdout_str(), "thawed\n", "{out}");
    let out = p.podman(["stop", "-t", "5", &name]);
    assert!(out.success(), "{out}");
    let out = p.podman(["rm", &name]);
    assert!(out.success(), "{out}");
    // conmon's `delete --force` removed the runtime's state.
    let root = p.dir().join("runsc-root");
    let left: Vec<_> = std::fs::read_dir(&root).into_iter().flatten().flatten().collect();
    assert!(left.is_empty(), "state left in {}: {left:?}", root.display());
}
