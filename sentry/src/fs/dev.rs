//! `/dev` and the character devices.
//!
//! [`Devfs::new`] builds `/dev` as a tmpfs holding the usual device nodes,
//! the `/proc/self/fd` symlinks, `shm` and `pts`. A device node does nothing
//! by itself: opening any character device node, in any filesystem, comes
//! to [`open_node`], which picks the driver by device number, as Linux does.
//! Drivers here: null(4), zero(4), full(4), random(4)/urandom(4). /dev/tty
//! (5:0) and /dev/ptmx (5:2) depend on the caller (its controlling
//! terminal; the devpts mounted at `pts` next to it), so the open syscall
//! handles them (see [`super::devpts`]); reached here they give ENXIO.

use super::{major, makedev, minor, tmpfs::Tmpfs};
use crate::errno::{Errno, Result};
use crate::vfs::{CreateAttr, FileOps, Inode};
use std::sync::Arc;

/// (name, major, minor) of the character devices in `/dev`.
const DEVICES: [(&[u8], u32, u32); 8] = [
    (b"null", 1, 3),
    (b"zero", 1, 5),
    (b"full", 1, 7),
    (b"random", 1, 8),
    (b"urandom", 1, 9),
    (b"tty", 5, 0),
    (b"console", 5, 1),
    (b"ptmx", 5, 2),
];

/// (name, target) of the symlinks in `/dev`.
const LINKS: [(&[u8], &[u8]); 4] = [
    (b"fd", b"/proc/self/fd"),
    (b"stdin", b"/proc/self/fd/0"),
    (b"stdout", b"/proc/self/fd/1"),
    (b"stderr", b"/proc/self/fd/2"),
];

const ROOT_OWNED: CreateAttr = CreateAttr {
    mode: 0o755,
    uid: 0,
    gid: 0,
};

/// Constructor for `/dev`.
pub struct Devfs;

impl Devfs {
    /// A new `/dev`: a tmpfs (mode 0755) with the character devices
    /// (mode 0666), the fd symlinks, `shm` (mode 1777) and an empty `pts`.
    // The constructor returns the root inode, not a `Self`: these types
    // only name the filesystem.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Arc<dyn Inode> {
        let root = Tmpfs::new(None, 0o755);
        if let Err(e) = populate(&root) {
            // Cannot happen on a fresh tmpfs; a /dev missing entries is
            // still better than no /dev.
            tracing::warn!("populating /dev: {e}");
        }
        root
    }
}

fn populate(root: &Arc<dyn Inode>) -> Result<()> {
    for (name, ma, mi) in DEVICES {
        let attr = CreateAttr {
            mode: libc::S_IFCHR | 0o666,
            ..ROOT_OWNED
        };
        root.mknod(name, attr, makedev(ma, mi))?;
    }
    for (name, target) in LINKS {
        root.symlink(
            name,
            target,
            CreateAttr {
                mode: 0o777,
                ..ROOT_OWNED
            },
        )?;
    }
    root.mkdir(
        b"shm",
        CreateAttr {
            mode: 0o1777,
            ..ROOT_OWNED
        },
    )?;
    root.mkdir(b"pts", ROOT_OWNED)?;
    Ok(())
}

/// Opens a special file of type `kind` (S_IFCHR, S_IFBLK, S_IFIFO,
/// S_IFSOCK) and device number `rdev`. Character devices without a driver,
/// block devices, FIFOs and sockets give ENXIO for now (open(2): "ENXIO ...
/// the file is a device special file and no corresponding device exists";
/// "... is a UNIX domain socket").
pub fn open_node(kind: u32, rdev: u64, _flags: i32) -> Result<Arc<dyn FileOps>> {
    if kind != libc::S_IFCHR {
        return Err(Errno::ENXIO);
    }
    open_char_device(rdev)
}

/// The driver of character device `rdev`.
pub fn open_char_device(rdev: u64) -> Result<Arc<dyn FileOps>> {
    let dev: Arc<dyn FileOps> = match (major(rdev), minor(rdev)) {
        (1, 3) => Arc::new(Null),
        (1, 5) => Arc::new(Zero),
        (1, 7) => Arc::new(Full),
        (1, 8) | (1, 9) => Arc::new(Random),
        _ => return Err(Errno::ENXIO),
    };
    Ok(dev)
}

/// null(4): reads give EOF, writes succeed and vanish.
struct Null;

impl FileOps for Null {
    fn seeks_to_zero(&self) -> bool {
        true
    }
    fn read(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Ok(0)
    }
    fn write(&self, buf: &[u8], _offset: u64) -> Result<usize> {
        Ok(buf.len())
    }
}

/// zero(4): reads give zeros, writes succeed and vanish.
struct Zero;

impl FileOps for Zero {
    fn seeks_to_zero(&self) -> bool {
        true
    }
    fn read(&self, buf: &mut [u8], _offset: u64) -> Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, buf: &[u8], _offset: u64) -> Result<usize> {
        Ok(buf.len())
    }
}

/// full(4): reads give zeros, writes fail with ENOSPC.
struct Full;

impl FileOps for Full {
    fn seeks_to_zero(&self) -> bool {
        true
    }
    fn read(&self, buf: &mut [u8], _offset: u64) -> Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::ENOSPC)
    }
}

/// random(4) and urandom(4): reads come from getrandom(2) (which, like
/// /dev/random since Linux 5.6, blocks only until the pool is initialized);
/// writes are accepted and, for an unprivileged writer, change nothing.
struct Random;

impl FileOps for Random {
    fn read(&self, buf: &mut [u8], _offset: u64) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the
            // duration of the call, and getrandom writes at most that many.
            let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
            let err = Errno::last();
            if err != Errno::EINTR {
                return Err(err);
            }
        }
    }
    fn write(&self, buf: &[u8], _offset: u64) -> Result<usize> {
        Ok(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dev: &Arc<dyn Inode>, name: &[u8]) -> Result<Arc<dyn FileOps>> {
        dev.lookup(name)?.open(libc::O_RDWR)
    }

    #[test]
    fn device_nodes_have_linux_numbers_and_modes() {
        let dev = Devfs::new();
        for (name, ma, mi) in DEVICES {
            let st = dev.lookup(name).unwrap().stat().unwrap();
            assert_eq!(st.mode, 0o20666, "{}", String::from_utf8_lossy(name));
            assert_eq!((st.uid, st.gid), (0, 0));
            assert_eq!(st.rdev, makedev(ma, mi));
        }
        let null = dev.lookup(b"null").unwrap().stat().unwrap().rdev;
        assert_eq!(null, 0x103);
    }

    #[test]
    fn links_and_directories() {
        let dev = Devfs::new();
        for (name, target) in LINKS {
            assert_eq!(dev.lookup(name).unwrap().readlink().unwrap(), target);
        }
        let shm = dev.lookup(b"shm").unwrap();
        assert_eq!(shm.stat().unwrap().mode, libc::S_IFDIR | 0o1777);
        shm.create(
            b"seg",
            CreateAttr {
                mode: 0o600,
                uid: 0,
                gid: 0,
            },
        )
        .unwrap();
        assert!(dev.lookup(b"pts").unwrap().readdir().unwrap().is_empty());
        assert_eq!(dev.stat().unwrap().mode, libc::S_IFDIR | 0o755);
    }

    #[test]
    fn null_zero_full() {
        let dev = Devfs::new();
        let mut buf = [7u8; 16];
        let null = open(&dev, b"null").unwrap();
        assert_eq!(null.read(&mut buf, 0).unwrap(), 0);
        assert_eq!(null.write(b"abc", 0).unwrap(), 3);
        assert!(null.seekable());
        assert_eq!(null.size().unwrap(), 0);
        let zero = open(&dev, b"zero").unwrap();
        assert_eq!(zero.read(&mut buf, 5).unwrap(), 16);
        assert_eq!(buf, [0; 16]);
        assert_eq!(zero.write(b"abc", 0).unwrap(), 3);
        let full = open(&dev, b"full").unwrap();
        buf = [7; 16];
        assert_eq!(full.read(&mut buf, 0).unwrap(), 16);
        assert_eq!(buf, [0; 16]);
        assert_eq!(full.write(b"abc", 0).err(), Some(Errno::ENOSPC));
    }

    #[test]
    fn random_reads_vary() {
        let dev = Devfs::new();
        for name in [&b"random"[..], b"urandom"] {
            let f = open(&dev, name).unwrap();
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            assert_eq!(f.read(&mut a, 0).unwrap(), 32);
            assert_eq!(f.read(&mut b, 0).unwrap(), 32);
            assert_ne!(a, b);
            assert_eq!(f.write(b"entropy", 0).unwrap(), 7);
        }
    }

    #[test]
    fn tty_and_unknown_devices_are_enxio() {
        let dev = Devfs::new();
        assert_eq!(open(&dev, b"tty").err(), Some(Errno::ENXIO));
        assert_eq!(open(&dev, b"ptmx").err(), Some(Errno::ENXIO));
        assert_eq!(open_char_device(makedev(42, 0)).err(), Some(Errno::ENXIO));
        assert_eq!(open_node(libc::S_IFBLK, makedev(1, 3), 0).err(), Some(Errno::ENXIO));
        // A node made anywhere with null's number is null.
        let attr = CreateAttr {
            mode: libc::S_IFCHR | 0o666,
            uid: 0,
            gid: 0,
        };
        dev.lookup(b"shm")
            .unwrap()
            .mknod(b"mynull", attr, makedev(1, 3))
            .unwrap();
        let mine = dev.lookup(b"shm").unwrap().lookup(b"mynull").unwrap();
        assert_eq!(mine.open(libc::O_WRONLY).unwrap().write(b"x", 0).unwrap(), 1);
    }
}
