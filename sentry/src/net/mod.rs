//! Sockets served entirely inside the Sentry: they never reach a host
//! socket.
//!
//! - `socket`: the `Socket` trait every family implements, the open
//!   socket file, and socket(2)'s dispatch by family;
//! - `inet`: AF_INET and AF_INET6 (the interface list in `inet::iface`);
//! - `hostinet`: AF_INET/AF_INET6 as host sockets (`--network=host`);
//! - `netdevice`: the netdevice(7) interface ioctls, for every family;
//! - `netlink`: AF_NETLINK (NETLINK_ROUTE answered from `inet::iface`);
//! - `addr`: sockaddr_un names and the sandbox's name tables;
//! - `procnet`: the /proc/net files;
//! - `options`: the socket options that are stored as set;
//! - `queue`: a receive queue of messages with their ancillary data;
//! - `unix`: the unix(7) state machine (bind, listen, connect, accept,
//!   send, receive, shutdown, options); `unix_ops` its `Socket` face.

pub mod addr;
pub mod hostinet;
pub mod inet;
pub mod netdevice;
pub mod netlink;
pub mod options;
pub mod procnet;
pub mod queue;
pub mod socket;
pub mod unix;
pub mod unix_ops;

use crate::errno::{Errno, Result};
use crate::vfs::{FileOps, Inode, Stat, Timespec};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// struct ucred: who sent a message or connected (unix(7) SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    /// What SO_PEERCRED reports without a peer: pid 0, uid and gid -1.
    pub const NONE: Ucred = Ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };

    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..].copy_from_slice(&self.gid.to_le_bytes());
        b
    }
}

/// What fstat on a socket reports (sockfs: S_IFSOCK, mode 0777).
pub struct SocketInode {
    pub ino: u64,
    pub uid: u32,
    pub gid: u32,
    created: Timespec,
}

/// sockfs's device number as Linux shows it (0:8).
const SOCKFS_DEV: u64 = 0x8;

impl SocketInode {
    pub fn new(uid: u32, gid: u32) -> Arc<SocketInode> {
        static NEXT_INO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(20000);
        Arc::new(SocketInode {
            ino: NEXT_INO.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            uid,
            gid,
            created: Timespec::now(),
        })
    }
}

impl Inode for SocketInode {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: SOCKFS_DEV,
            ino: self.ino,
            mode: libc::S_IFSOCK | 0o777,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            blksize: 4096,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            ..Stat::default()
        })
    }
    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>> {
        Err(Errno::ENXIO)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// How long a blocking socket operation may wait: forever, or until a
/// deadline from SO_RCVTIMEO/SO_SNDTIMEO.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub nonblock: bool,
    pub deadline: Option<Instant>,
}

impl Wait {
    pub fn new(nonblock: bool, timeout: Option<Duration>) -> Wait {
        Wait {
            nonblock,
            deadline: timeout.map(|t| Instant::now() + t),
        }
    }

    /// Waits on `cv` for a change. EAGAIN when non-blocking or past the
    /// deadline; on a signal ERESTARTSYS, or EINTR when a timeout is set
    /// (socket(7) SO_RCVTIMEO: such calls are not restarted).
    pub fn block<'a, T>(
        &self,
        cv: &std::sync::Condvar,
        guard: std::sync::MutexGuard<'a, T>,
    ) -> Result<std::sync::MutexGuard<'a, T>> {
        if self.nonblock {
            return Err(Errno::EAGAIN);
        }
        if let Err(e) = crate::kernel::interrupt::check() {
            return Err(if self.deadline.is_some() { Errno::EINTR } else { e });
        }
        let mut step = Duration::from_millis(20);
        if let Some(deadline) = self.deadline {
            let now = Instant::now();
            if now >= deadline {
                return Err(Errno::EAGAIN);
            }
            step = step.min(deadline - now);
        }
        let (guard, _) = cv.wait_timeout(guard, step).map_err(|_| Errno::EIO)?;
        Ok(guard)
    }
}
