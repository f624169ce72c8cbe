//! `runsc run`: create and start; unless `--detach`, wait for the container
//! (forwarding the signals we get to it), delete it and exit with its code.

use std::process::{Child, ExitStatus};

use anyhow::Context;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::cli::{GlobalOpts, RunArgs};
use crate::commands::create::{self, Created};
use crate::commands::launch::exit_code;
use crate::commands::start;
use crate::hooks;
use crate::report::{BootFailure, Report};
use crate::signals::Sig;
use crate::state::Status;

/// Signals a foreground `run` passes on to the container.
const FORWARDED: [Signal; 6] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

pub fn main(global: &GlobalOpts, args: &RunArgs) -> anyhow::Result<i32> {
    // In the foreground, a container with a terminal has ours relayed to
    // it in raw mode; it is given back as it was when we return.
    let _terminal = (!args.detach).then(crate::console::SavedTerminal::of_stdin).flatten();
    let Created { dir, state, launched } = create::create(global, &args.create, args.detach)?;
    if let Err(e) = start::start_with_hooks(&dir, &state) {
        launched.abort();
        let _ = dir.remove();
        return Err(e.context(format!("starting container {:?}", state.id)));
    }
    if args.detach {
        return Ok(0);
    }

    let mut child = launched.child;
    let mut status = launched.status;
    let waited = wait_forwarding_signals(&mut child);
    // A failure inside the sandbox after start arrives as a last report.
    // Non-blocking: the sandbox is gone, and nothing else should hold the pipe.
    let failure = match status.set_nonblocking().and_then(|()| status.recv()) {
        Ok(Some(Report::Failed { message, exit_code })) => Some(BootFailure::new(message, exit_code)),
        _ => None,
    };
    let saved = hooks::load(&dir.path);
    if let Err(e) = dir.remove() {
        tracing::warn!("deleting the container: {e}");
    }
    match saved {
        Ok(saved) => hooks::run_logged(saved.as_ref(), hooks::Kind::Poststop, &state.oci(Status::Stopped)),
        Err(e) => tracing::warn!("poststop hooks: {e}"),
    }
    if let Some(failure) = failure {
        return Err(failure.into());
    }
    let exit = waited?;
    tracing::info!(id = %state.id, code = exit_code(exit), "container exited");
    Ok(exit_code(exit))
}

/// Waits for the sandbox process, passing the FORWARDED signals on to it.
fn wait_forwarding_signals(child: &mut Child) -> anyhow::Result<ExitStatus> {
    let mut mask = SigSet::empty();
    for sig in FORWARDED {
        mask.add(sig);
    }
    mask.add(Signal::SIGCHLD);
    mask.thread_block().context("blocking signals")?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).context("creating a signalfd")?;
    let pid = i32::try_from(child.id()).context("sandbox pid out of range")?;
    loop {
        // Checked before every read: a SIGCHLD that came before the mask
        // was installed is gone, but the exit is still there to collect.
        if let Some(status) = child.try_wait().context("waiting for the sandbox")? {
            return Ok(status);
        }
        match sfd.read_signal() {
            Ok(Some(info)) => {
                let signo = i64::from(info.ssi_signo);
                if signo != Signal::SIGCHLD as i64 {
                    if let Ok(sig) = Sig::from_number(signo) {
                        forward(sig, pid);
                    }
                }
            }
            Ok(None) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e).context("reading signals"),
        }
    }
}

fn forward(sig: Sig, pid: i32) {
    tracing::debug!(%sig, pid, "forwarding signal");
    if let Err(e) = sig.send(pid) {
        tracing::debug!("forwarding {sig}: {e}");
    }
}
