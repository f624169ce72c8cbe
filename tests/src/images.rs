//! Container images built locally (no registry is reachable in CI), made
//! with umoci and skopeo, each built once into `target/images/NAME/` and
//! reused:
//! - [`busybox`]: a root file system from the host's busybox-static, as a
//!   plain tar (`docker import`, `podman import`) and as an OCI archive named
//!   [`BUSYBOX_REF`] (`ctr images import`, `podman load`);
//! - [`pause`]: a static `pause` program as an OCI archive named
//!   [`PAUSE_REF`] (the CRI's `sandbox_image`).
//!
//! And [`debian_rootfs`], a Debian 12 root file system (built by
//! `tests/rootfs/debian` into `target/debian-rootfs/`), with
//! [`debian_bundle`] to run a shell script on it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{run, target_dir, unique_name, Bundle};

/// The name the OCI archive carries (and `docker import` is given).
pub const BUSYBOX_REF: &str = "localhost/runsc-test-busybox:latest";

/// The name of the pause image's OCI archive.
pub const PAUSE_REF: &str = "localhost/pause:runsc-test";

/// The host binary the image is made of (Debian's busybox-static).
const BUSYBOX: &str = "/bin/busybox";

/// What [`busybox`] built.
#[derive(Debug)]
pub struct BusyboxImage {
    /// The unpacked root file system.
    pub rootfs: PathBuf,
    /// A tar of the root file system.
    pub rootfs_tar: PathBuf,
    /// An OCI image archive named [`BUSYBOX_REF`].
    pub oci_archive: PathBuf,
}

/// The busybox image, built on first use (needs busybox-static, umoci and
/// skopeo; see [`crate::daemons::require_tools`]). Safe across parallel test
/// processes: each builds in a private directory and renames it into place.
pub fn busybox() -> &'static BusyboxImage {
    static IMAGE: OnceLock<BusyboxImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = target_dir().join("images").join("busybox");
        build_once(&dir, |tmp| {
            make_rootfs(&tmp.join("rootfs"));
            sh(tmp, &["tar", "-C", "rootfs", "-cf", "busybox-rootfs.tar", "."]);
            let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
            oci_archive(
                tmp,
                "busybox",
                &["--config.cmd", "/bin/sh", "--config.env", path],
                BUSYBOX_REF,
            );
        });
        BusyboxImage {
            rootfs: dir.join("rootfs"),
            rootfs_tar: dir.join("busybox-rootfs.tar"),
            oci_archive: dir.join("busybox-oci.tar"),
        }
    })
}

/// The pause image's OCI archive (a static `pause` that waits for SIGINT or
/// SIGTERM and reaps children), built on first use like [`busybox`].
pub fn pause() -> &'static Path {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let dir = target_dir().join("images").join("pause");
        build_once(&dir, |tmp| {
            fs::create_dir_all(tmp.join("rootfs")).expect("mkdir rootfs");
            fs::write(tmp.join("pause.c"), PAUSE_C).expect("writing pause.c");
            sh(tmp, &["gcc", "-O2", "-static", "-o", "rootfs/pause", "pause.c"]);
            oci_archive(tmp, "pause", &["--config.entrypoint", "/pause"], PAUSE_REF);
        });
        dir.join("pause-oci.tar")
    })
}

const PAUSE_C: &str = "#include <signal.h>\n#include <stdlib.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\
     static void die(int s){(void)s;_exit(0);}\n\
     static void reap(int s){(void)s;while(waitpid(-1,0,WNOHANG)>0){}}\n\
     int main(void){signal(SIGINT,die);signal(SIGTERM,die);signal(SIGCHLD,reap);for(;;)pause();}\n";

/// Unless `dir` is complete (has `done`), has `build` fill a private
/// directory next to it and renames that into place.
fn build_once(dir: &Path, build: impl FnOnce(&Path)) {
    if dir.join("done").exists() {
        return;
    }
    let parent = dir.parent().expect("images dir");
    fs::create_dir_all(parent).expect("mkdir target/images");
    let name = dir.file_name().and_then(|n| n.to_str()).expect("image name");
    let tmp = parent.join(format!(".{}", unique_name(&format!("{name}-build"))));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).expect("mkdir build dir");
    build(&tmp);
    fs::write(tmp.join("done"), "").expect("marking the image done");
    // Another process may have finished first; its copy is as good.
    if fs::rename(&tmp, dir).is_err() {
        let _ = fs::remove_dir_all(&tmp);
        assert!(
            dir.join("done").exists(),
            "cannot move the image into {}",
            dir.display()
        );
    }
}

/// umoci makes a one-layer image of `tmp/rootfs` with `config` (umoci
/// config flags); skopeo writes it as `tmp/NAME-oci.tar`, named `reference`.
fn oci_archive(tmp: &Path, name: &str, config: &[&str], reference: &str) {
    let image = format!("oci:{name}");
    sh(tmp, &["umoci", "init", "--layout", "oci"]);
    sh(tmp, &["umoci", "new", "--image", &image]);
    sh(tmp, &["umoci", "insert", "--image", &image, "rootfs", "/"]);
    let mut args = vec!["umoci", "config", "--image", &image];
    args.extend_from_slice(config);
    args.extend_from_slice(&["--architecture", "amd64", "--os", "linux"]);
    sh(tmp, &args);
    let dest = format!("oci-archive:{name}-oci.tar:{reference}");
    sh(tmp, &["skopeo", "copy", &format!("oci:oci:{name}"), &dest]);
    fs::remove_dir_all(tmp.join("oci")).expect("removing the layout");
}

/// bin/ with busybox and a link per applet, /etc/passwd and /etc/group,
/// the usual empty mount points and a 1777 /tmp.
fn make_rootfs(root: &Path) {
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        fs::create_dir_all(root.join(d)).expect("mkdir in rootfs");
    }
    fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap_or_else(|e| panic!("copying {BUSYBOX}: {e}"));
    let list = run(
        {
            let mut c = Command::new(BUSYBOX);
            c.arg("--list");
            c
        },
        Duration::from_secs(30),
    );
    assert!(list.success(), "{list}");
    for applet in list.stdout_str().lines().filter(|a| !a.is_empty() && *a != "busybox") {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("applet link");
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("passwd");
    fs::write(root.join("etc/group"), "root:x:0:\n").expect("group");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod /tmp");
}

fn sh(cwd: &Path, argv: &[&str]) {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).current_dir(cwd);
    let out = run(cmd, Duration::from_secs(120));
    assert!(out.success(), "building an image failed\n{out}");
}

/// The environment of programs in [`debian_rootfs`]: only PATH.
pub const DEBIAN_PATH: &str = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

/// The Debian 12 root file system of `tests/rootfs/debian` (debootstrap
/// minbase with python3, or assembled from the host's binaries), built once
/// into `target/debian-rootfs/` (debootstrap takes a minute).
pub fn debian_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let dir = target_dir().join("debian-rootfs");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs/debian");
        let status = Command::new(&script)
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            status.success(),
            "{} {} failed: {status}",
            script.display(),
            dir.display()
        );
        dir
    })
}

/// A bundle that runs `sh -c script` with [`debian_rootfs`] as its
/// read-only root and [`DEBIAN_PATH`] as its whole environment.
pub fn debian_bundle(script: &str) -> Bundle {
    let bundle = Bundle::builder()
        .args(["/bin/sh", "-c", script])
        .read_only_root(true)
        .build();
    let mut spec = bundle.spec();
    let mut root = spec.root().clone().expect("root");
    root.set_path(debian_rootfs().to_path_buf());
    spec.set_root(Some(root));
    let mut process = spec.process().clone().expect("process");
    process.set_env(Some(vec![DEBIAN_PATH.to_string()]));
    spec.set_process(Some(process));
    bundle.save_spec(&spec);
    bundle
}
