//! The Sentry: a userspace kernel that services every guest syscall.
//!
//! Layering (each module only uses the ones above it):
//! - `errno`, `mm`: errors, the memory file and guest address spaces;
//! - `vfs`, `fs`: path resolution, open files and the filesystems;
//! - `net`: sockets (Unix domain, served inside the Sentry);
//! - `kernel`: tasks, the ELF loader, the run loop;
//! - `syscalls`: the syscall table and handlers.

pub mod errno;
pub mod fs;
pub mod kernel;
pub mod mm;
pub mod net;
pub mod syscalls;
pub mod vfs;

mod boot;
mod pod;
pub mod sandbox;

/// Reads the few host facts the Sentry shows (the CPU model for
/// /proc/cpuinfo) while the host's file system is still reachable.
pub fn read_host_facts() {
    fs::proc_sys::read_host_facts();
}

/// The memory limit of the sandbox's cgroup: /proc/meminfo's MemTotal.
pub fn set_memory_limit(bytes: u64) {
    fs::proc_sys::set_memory_limit(bytes);
}

pub use sandbox::{
    CapabilitySets, Config, ContainerConfig, Error, ExecConfig, ExitStatus, MountConfig, MountKind, ProcessInfo,
    Sandbox, Signaller,
};
