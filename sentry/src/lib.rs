//! The Sentry: a userspace kernel that services every guest syscall.
//!
//! Layering (each module only uses the ones above it):
//! - `mm`: the memory file and guest address spaces;
//! - `vfs` / `fs`: path resolution, open files and filesystems;
//! - `kernel`: tasks, the ELF loader, the run loop;
//! - `syscalls`: the syscall table and handlers.

pub mod sandbox;

pub use sandbox::{Config, Error, ExitStatus, Sandbox};
