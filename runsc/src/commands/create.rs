//! `runsc create`: validate the bundle, start the sandbox process with the
//! init process loaded but not running, and record the container.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Context;

use crate::cli::{CreateArgs, GlobalOpts};
use crate::commands::launch::{self, Launched};
use crate::console;
use crate::hooks;
use crate::rfc3339;
use crate::spec;
use crate::state::{ContainerDir, ContainerState, Root, Status};

/// A container in the `created` state.
pub struct Created {
    pub dir: ContainerDir,
    pub state: ContainerState,
    pub launched: Launched,
}

pub fn main(global: &GlobalOpts, args: &CreateArgs) -> anyhow::Result<i32> {
    let created = create(global, args, true)?;
    tracing::info!(
        id = %created.state.id,
        pid = created.state.pid,
        "container created"
    );
    // The sandbox process keeps running; its new parent (a subreaper such
    // as containerd's shim, or init) reaps it.
    Ok(0)
}

/// Does the work of `create`; `detach` is false for a foreground `run`.
pub fn create(global: &GlobalOpts, args: &CreateArgs, detach: bool) -> anyhow::Result<Created> {
    let bundle = spec::load(&args.bundle)?;
    console::check_terminal(bundle.terminal(), detach, args.console_socket.is_some())?;
    let sandbox = crate::pod::sandbox_to_join(&bundle.annotations(), &args.id);
    let dir = Root::new(&global.root).create(&args.id)?;
    let console_socket = args.console_socket.as_deref();
    // An app container of a pod joins its sandbox; any other gets its own.
    let launched = match sandbox {
        Some(sandbox) => {
            crate::commands::container_wait::join(global, &dir, &bundle, &sandbox, console_socket, args.preserve_fds)
        }
        None => launch::launch(global, &dir, &bundle, console_socket, args.preserve_fds),
    };
    let launched = match launched {
        Ok(launched) => launched,
        Err(e) => {
            remove_quietly(&dir);
            return Err(e.context(format!("creating container {:?}", args.id)));
        }
    };
    let state = ContainerState {
        id: args.id.clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        pid: launched.pid,
        start_time: launched.start_time,
        created: rfc3339::now(true),
        annotations: bundle.annotations(),
    };
    let recorded = dir
        .save(&state)
        .map_err(anyhow::Error::from)
        .and_then(|()| match &args.pid_file {
            Some(path) => write_pid_file(path, state.pid),
            None => Ok(()),
        })
        .and_then(|()| run_create_hooks(&dir, &state, bundle.spec.hooks().as_ref()));
    if let Err(e) = recorded {
        launched.abort();
        remove_quietly(&dir);
        return Err(e);
    }
    Ok(Created { dir, state, launched })
}

/// Keeps the hooks for `start` and `delete`, then runs prestart,
/// createRuntime and createContainer (see [`crate::hooks`]).
fn run_create_hooks(
    dir: &ContainerDir,
    state: &ContainerState,
    hooks: Option<&oci_spec::runtime::Hooks>,
) -> anyhow::Result<()> {
    hooks::save(&dir.path, hooks)?;
    let oci = state.oci(Status::Created);
    for kind in hooks::Kind::CREATE {
        hooks::run(hooks, kind, &oci)?;
    }
    Ok(())
}

fn remove_quietly(dir: &ContainerDir) {
    if let Err(e) = dir.remove() {
        tracing::warn!("cleaning up: {e}");
    }
}

/// Writes the pid (no newline, as runc does) via a temporary file and a
/// rename, so a reader never sees a partial file.
pub fn write_pid_file(path: &Path, pid: i32) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("pid file {} has no file name", path.display()))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, pid.to_string()).with_context(|| format!("writing pid file {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing pid file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use oci_spec::runtime::{ProcessBuilder, RootBuilder, SpecBuilder};

    #[test]
    fn pid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("init.pid");
        write_pid_file(&path, 4242).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "4242");
        write_pid_file(&path, 7).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "7");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let err = write_pid_file(&dir.path().join("no/such/dir/p"), 1).unwrap_err();
        assert!(format!("{err:#}").starts_with("writing pid file"), "{err:#}");
    }

    fn parse(args: &[String]) -> (GlobalOpts, CreateArgs) {
        let cli = Cli::try_parse_from(std::iter::once("runsc".to_string()).chain(args.iter().cloned())).unwrap();
        match cli.command {
            Command::Create(c) => (cli.global, c),
            other => panic!("{other:?}"),
        }
    }

    /// Failures that happen before any process is started leave no state.
    #[test]
    fn early_failures_leave_no_state() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        let argv = |id: &str| {
            vec![
                "--root".to_string(),
                root.display().to_string(),
                "create".into(),
                "--bundle".into(),
                bundle.display().to_string(),
                id.into(),
            ]
        };

        // No config.json at all.
        let (g, c) = parse(&argv("c1"));
        let err = create(&g, &c, true).err().unwrap();
        assert!(format!("{err:#}").contains("config.json"), "{err:#}");

        // terminal=true without a console socket.
        let spec = SpecBuilder::default()
            .version("1.0.2-dev")
            .root(RootBuilder::default().path("rootfs").build().unwrap())
            .process(
                ProcessBuilder::default()
                    .terminal(true)
                    .args(vec!["/bin/sh".to_string()])
                    .cwd("/")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        spec.save(bundle.join("config.json")).unwrap();
        let (g, c) = parse(&argv("c1"));
        let err = create(&g, &c, true).err().unwrap();
        assert_eq!(
            format!("{err:#}"),
            "cannot allocate tty if runsc will detach without setting console socket"
        );

        // An id that would escape the root.
        let (g, c) = parse(&argv("../evil"));
        let mut spec = spec;
        if let Some(p) = spec.process_mut() {
            p.set_terminal(Some(false));
        }
        spec.save(bundle.join("config.json")).unwrap();
        let err = create(&g, &c, true).err().unwrap();
        assert!(format!("{err:#}").starts_with("invalid container id"), "{err:#}");

        assert!(!root.join("c1").exists());
        assert!(!tmp.path().join("evil").exists());
    }

    #[test]
    fn duplicate_id_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        Root::new(&root).create("c1").unwrap();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
        SpecBuilder::default()
            .version("1.0.2")
            .process(
                ProcessBuilder::default()
                    .args(vec!["x".to_string()])
                    .cwd("/")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
            .save(bundle.join("config.json"))
            .unwrap();
        let (g, c) = parse(&[
            "--root".into(),
            root.display().to_string(),
            "create".into(),
            "-b".into(),
            bundle.display().to_string(),
            "c1".into(),
        ]);
        let err = create(&g, &c, true).err().unwrap();
        assert_eq!(err.to_string(), "container \"c1\" already exists");
        // The existing container's directory is left alone.
        assert!(root.join("c1").is_dir());
    }
}
