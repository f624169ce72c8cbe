//! `containerd-shim-runsc-v1`: containerd's shim v2 for runsc.
//!
//! containerd runs this binary as `... start` (it daemonizes the ttrpc server
//! and prints its address: one server per pod, found again through the CRI
//! sandbox id), talks to the server over ttrpc (`containerd.task.v2.Task`),
//! and runs `... delete` to clean up after a server that went away. The
//! server drives the `runsc` CLI the way containerd's runc shim drives runc.

mod config;
mod error;
mod io;
mod process;
mod runsc;
mod server;
mod service;
mod shim;
mod stats;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Ok(flags) = containerd_shim::parse(args.get(1..).unwrap_or_default()) {
        if flags.action == "start" {
            std::process::exit(shim::start_plain(&flags));
        }
        if flags.action.is_empty() && !flags.socket.is_empty() {
            std::process::exit(server::serve(&flags));
        }
    }
    containerd_shim::run::<shim::RunscShim>(shim::RUNTIME_ID, None);
}
