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
pub mod sandbox;

pub use sandbox::{CapabilitySets, Config, Error, ExitStatus, MountConfig, MountKind, ProcessInfo, Sandbox, Signaller};
