//! `runsc`: an OCI runtime whose containers run on the Sentry.
//!
//! Dispatch and exit codes live here: every error ends as one line
//! `runsc: <message with context>` on stderr (and in the `--log` file),
//! never as a panic or a backtrace.

#![deny(unsafe_code)]

mod boot;
mod cgroup;
mod cli;
mod commands;
mod confine;
mod console;
mod control;
mod gofer_proc;
mod hooks;
mod logging;
mod network;
mod pod;
mod preserve;
mod report;
mod rfc3339;
mod seccomp;
mod signals;
mod spec;
mod state;
mod stats;
mod testonly;
mod userns;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::report::BootFailure;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let name = cli.command.name();
    // Before any file of ours (the log) can take a number the caller left
    // closed.
    let preserved_open = preserve::check_open(cli.command.preserve_fds());
    // boot's stderr is the container's: it never logs there.
    let stderr_ok = !matches!(cli.command, Command::Boot(_) | Command::ContainerWait(_));
    if let Err(e) = logging::init(&cli.global, name, stderr_ok) {
        eprintln!("runsc: {e}");
        return ExitCode::FAILURE;
    }
    tracing::debug!(args = ?std::env::args_os().collect::<Vec<_>>(), "runsc {name}");
    if cli.global.systemd_cgroup {
        tracing::debug!("--systemd-cgroup is accepted and ignored");
    }
    if let Some(rootless) = &cli.global.rootless {
        tracing::debug!("--rootless={rootless} is accepted and ignored");
    }

    match preserved_open.and_then(|()| dispatch(&cli)) {
        Ok(code) => exit_code(code),
        Err(err) => {
            let message = format!("{err:#}");
            tracing::error!("{message}");
            eprintln!("runsc: {message}");
            exit_code(failure_code(&err))
        }
    }
}

fn dispatch(cli: &Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    match &cli.command {
        Command::Create(args) => commands::create::main(g, args),
        Command::Start(args) => commands::start::main(g, args),
        Command::State(args) => commands::state::main(g, args),
        Command::Kill(args) => commands::kill::main(g, args),
        Command::Delete(args) => commands::delete::main(g, args),
        Command::Ps(args) => commands::ps::main(g, args),
        Command::Exec(args) => commands::exec::main(g, args),
        Command::ExecWait(args) => commands::exec::wait_main(g, args),
        Command::ContainerWait(args) => commands::container_wait::main(g, args),
        Command::Run(args) => commands::run::main(g, args),
        Command::List(args) => commands::list::main(g, args),
        Command::Spec(args) => commands::spec::main(g, args),
        Command::Do(args) => commands::do_cmd::main(g, args),
        Command::Pause(args) => commands::pause::pause(g, args),
        Command::Resume(args) => commands::pause::resume(g, args),
        Command::Update(args) => commands::update::main(g, args),
        Command::Events(args) => commands::events::main(g, args),
        Command::Features => commands::features::main(g),
        Command::Install(args) => commands::install::main(g, args),
        Command::Boot(args) => boot::main(g, args),
        Command::Gofer(args) => gofer_proc::main(args),
    }
}

/// 127/126 when the init executable could not be run, else 1.
fn failure_code(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<BootFailure>())
        .map_or(1, |f| f.exit_code)
}

fn exit_code(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

/// `--help` and `--version` go to stdout with status 0; a bad command line
/// is reported like every other error, with status 2.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            let argv: Vec<String> = std::env::args().skip(1).collect();
            logging::log_usage_error(&argv, text.lines().next().unwrap_or_default());
            eprint!("runsc: {text}");
            ExitCode::from(2)
        }
    }
}

/// A bug must still end as one `runsc:` line, not a Rust panic report.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!("internal error: {what}{at}");
        eprintln!("runsc: internal error: {what}{at}");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn failure_codes_survive_context() {
        let err =
            anyhow::Error::from(BootFailure::new("exec: \"x\": not found", 127)).context("creating container \"c\"");
        assert_eq!(failure_code(&err), 127);
        assert_eq!(format!("{err:#}"), "creating container \"c\": exec: \"x\": not found");
        let err: anyhow::Result<()> = Err(BootFailure::new("denied", 126)).context("outer");
        assert_eq!(failure_code(&err.unwrap_err()), 126);
        assert_eq!(failure_code(&anyhow::anyhow!("plain")), 1);
    }

    #[test]
    fn exit_codes_wrap_like_a_shell() {
        assert_eq!(exit_code(0), ExitCode::SUCCESS);
        assert_eq!(exit_code(137), ExitCode::from(137));
        assert_eq!(exit_code(256 + 3), ExitCode::from(3));
    }
}
