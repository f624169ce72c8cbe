//! `runsc do`: run a command in a sandbox over the host's root, in this
//! process, without a bundle or any container state.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use anyhow::Context;
use sentry::Sandbox;

use crate::cli::{DoArgs, GlobalOpts};
use crate::report::BootFailure;

pub fn main(global: &GlobalOpts, args: &DoArgs) -> anyhow::Result<i32> {
    crate::boot::end_sandbox_on_panic(None);
    crate::testonly::read_env();
    let mut config = config(global, args)?;
    config.gofer = Some(root_gofer()?);
    // `do` names no network namespace: loopback only, or the host's.
    let net = crate::network::prepare(global.network, None)?;
    config.network = net.network;
    config.nics = net.nics;
    config.host_network = net.host;
    crate::confine::sentry(global.platform(), net.host).context("confining the sandbox")?;
    tracing::debug!(args = ?config.args, cwd = %config.cwd, overlay = config.overlay, "do");
    // The Sentry puts our terminal in raw mode; it is given back as it was.
    let saved = config.terminal.then(crate::console::SavedTerminal::of_stdin).flatten();
    let result = Sandbox::new(config).and_then(Sandbox::run);
    drop(saved);
    let status = result.map_err(|e| BootFailure::from_sentry(&e))?;
    Ok(status.code())
}

/// The sandbox's configuration, without its gofer.
fn config(global: &GlobalOpts, args: &DoArgs) -> anyhow::Result<sentry::Config> {
    let cwd = match &args.cwd {
        Some(cwd) => cwd.clone(),
        None => std::env::current_dir()
            .context("reading the current directory")?
            .to_str()
            .context("the current directory is not valid UTF-8")?
            .to_string(),
    };
    let stdio = [
        io::stdin().as_fd().try_clone_to_owned(),
        io::stdout().as_fd().try_clone_to_owned(),
        io::stderr().as_fd().try_clone_to_owned(),
    ];
    let [stdin, stdout, stderr] = stdio;
    // From a terminal (all of stdin, stdout and stderr), the command gets a
    // terminal of the sandbox relayed to it.
    let terminal = [
        io::stdin().as_raw_fd(),
        io::stdout().as_raw_fd(),
        io::stderr().as_raw_fd(),
    ]
    .into_iter()
    .all(|fd| nix::unistd::isatty(fd).unwrap_or(false));
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "runsc".to_string());
    Ok(sentry::Config {
        rootfs: "/".into(),
        root_readonly: args.root_ro,
        overlay: !args.root_ro,
        args: args.command.clone(),
        env: merge_env(host_env(), &args.env),
        cwd,
        uid: nix::unistd::getuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        additional_gids: Vec::new(),
        capabilities: None,
        rlimits: Vec::new(),
        no_new_privileges: false,
        // The sandbox's own /sys, never the host's (proc and dev are
        // always the Sentry's).
        mounts: vec![sentry::MountConfig {
            destination: "/sys".into(),
            kind: sentry::MountKind::Sysfs,
            read_only: true,
            nosuid: true,
            noexec: true,
            nodev: true,
        }],
        gofer: None,
        bind_gofers: Vec::new(),
        network: sentry::net::inet::iface::Network::loopback_only(),
        nics: Vec::new(),
        host_network: false,
        hostname,
        platform: global.platform(),
        strace: global.strace,
        stdio: [
            stdin.context("duplicating stdin")?,
            stdout.context("duplicating stdout")?,
            stderr.context("duplicating stderr")?,
        ],
        preserved_fds: Vec::new(),
        terminal,
    })
}

/// A gofer serving the host's root (with the mounts below it), read-only.
fn root_gofer() -> anyhow::Result<std::os::fd::OwnedFd> {
    let root = crate::gofer_proc::Export {
        source: "/".into(),
        read_only: true,
        recursive: true,
        file: false,
    };
    let mut conns = crate::gofer_proc::spawn(&[root])?;
    conns.pop().context("the gofer gave no connection")
}

/// Our environment as `KEY=value`, leaving out anything not UTF-8.
fn host_env() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, v)| match (k.into_string(), v.into_string()) {
            (Ok(k), Ok(v)) => Some(format!("{k}={v}")),
            (k, _) => {
                tracing::debug!("leaving out non-UTF-8 environment variable {k:?}");
                None
            }
        })
        .collect()
}

/// `base` with each `KEY=value` of `extra` replacing the same key or added.
fn merge_env(mut base: Vec<String>, extra: &[String]) -> Vec<String> {
    fn key(entry: &str) -> &str {
        entry.split_once('=').map_or(entry, |(k, _)| k)
    }
    for entry in extra {
        match base.iter_mut().find(|b| key(b) == key(entry)) {
            Some(existing) => existing.clone_from(entry),
            None => base.push(entry.clone()),
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn env(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn env_overrides_and_appends() {
        let merged = merge_env(env(&["A=1", "B=2", "AB=3"]), &env(&["B=x", "C=", "A=y=z"]));
        assert_eq!(merged, ["A=y=z", "B=x", "AB=3", "C="]);
    }

    #[test]
    fn builds_the_config() {
        let cli = crate::cli::Cli::try_parse_from([
            "runsc",
            "--strace",
            "do",
            "--env",
            "RUNSC_TEST=1",
            "--",
            "/bin/echo",
            "hi",
        ])
        .unwrap();
        let crate::cli::Command::Do(args) = cli.command else {
            panic!("not do")
        };
        let c = config(&cli.global, &args).unwrap();
        assert_eq!(c.rootfs, std::path::Path::new("/"));
        assert!(c.overlay && !c.root_readonly && c.strace);
        assert_eq!(c.args, ["/bin/echo", "hi"]);
        assert!(c.env.contains(&"RUNSC_TEST=1".to_string()));
        assert!(c.env.iter().any(|e| e.starts_with("PATH=")));
        assert_eq!(c.cwd, std::env::current_dir().unwrap().to_str().unwrap());
        assert_eq!(c.uid, nix::unistd::getuid().as_raw());

        let cli = crate::cli::Cli::try_parse_from(["runsc", "do", "--root-ro", "--cwd", "/tmp", "true"]).unwrap();
        let crate::cli::Command::Do(args) = cli.command else {
            panic!("not do")
        };
        let c = config(&cli.global, &args).unwrap();
        assert!(!c.overlay && c.root_readonly);
        assert_eq!(c.cwd, "/tmp");
    }
}
