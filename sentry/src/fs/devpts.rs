//! devpts (pts(4)): the directory of pseudo-terminal slaves.
//!
//! It holds `ptmx` (5:2, opens a new master, like /dev/ptmx) and one
//! character device `N` (136:N) per pty whose master is open. A pty's
//! index is the lowest one not in use; it stays in use until the master
//! and every slave are closed (the [`Terminal`] is gone), while the node
//! disappears as soon as the master closes, as in Linux.

use super::tty::{MasterEnd, Terminal};
use super::{alloc_anon_dev, lock, makedev};
use crate::errno::{Errno, Result};
use crate::vfs::{Dentry, DirEntry, FileOps, Inode, Stat, Timespec};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

/// DEVPTS_SUPER_MAGIC.
const DEVPTS_MAGIC: u64 = 0x1cd1;
/// Major number of pty slaves (UNIX98_PTY_SLAVE_MAJOR).
pub const PTS_MAJOR: u32 = 136;
/// /dev/ptmx.
pub const PTMX_RDEV: u64 = makedev(5, 2);
/// /dev/tty.
pub const TTY_RDEV: u64 = makedev(5, 0);
/// /dev/console: the container's terminal, as runc binds the pty slave there.
pub const CONSOLE_RDEV: u64 = makedev(5, 1);
/// Most ptys at once (the kernel.pty.max default).
const MAX_PTYS: u32 = 4096;
/// Slaves are created mode 0620 (the "mode=620" of container runtimes).
const SLAVE_MODE: u32 = 0o620;

/// One devpts instance.
pub struct Devpts {
    dev: u64,
    created: Timespec,
    ptys: Mutex<BTreeMap<u32, Weak<Terminal>>>,
}

impl Devpts {
    /// A new, empty devpts; mount [`Devpts::root`] of it.
    pub fn new() -> Arc<Devpts> {
        Arc::new(Devpts {
            dev: alloc_anon_dev(),
            created: Timespec::now(),
            ptys: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn root(self: &Arc<Self>) -> Arc<dyn Inode> {
        Arc::new(DevptsRoot { fs: self.clone() })
    }

    /// Opens a new master with the lowest free index (ENOSPC when all are
    /// in use), its slave owned by `uid`:`gid`.
    pub fn open_master(&self, uid: u32, gid: u32) -> Result<Arc<MasterEnd>> {
        let mut ptys = lock(&self.ptys)?;
        ptys.retain(|_, t| t.strong_count() > 0);
        let index = (0..MAX_PTYS).find(|i| !ptys.contains_key(i)).ok_or(Errno::ENOSPC)?;
        let master = Terminal::new_master(index, self.dev, uid, gid);
        ptys.insert(index, Arc::downgrade(&master.tty));
        Ok(master)
    }

    /// The pty whose /dev/pts/N node exists (its master is open).
    fn live(&self, index: u32) -> Option<Arc<Terminal>> {
        let tty = lock(&self.ptys).ok()?.get(&index)?.upgrade()?;
        tty.master_open().then_some(tty)
    }

    fn live_indexes(&self) -> Vec<u32> {
        let Ok(ptys) = lock(&self.ptys) else { return Vec::new() };
        let candidates: Vec<(u32, Arc<Terminal>)> = ptys.iter().filter_map(|(&i, t)| Some((i, t.upgrade()?))).collect();
        drop(ptys);
        candidates
            .into_iter()
            .filter(|(_, t)| t.master_open())
            .map(|(i, _)| i)
            .collect()
    }
}

/// The devpts of the mount root `inode`, if it is one.
pub fn of_root(inode: &Arc<dyn Inode>) -> Option<Arc<Devpts>> {
    inode.as_any().downcast_ref::<DevptsRoot>().map(|r| r.fs.clone())
}

/// The devpts of a `ptmx` node inside one, if `inode` is one.
pub fn of_ptmx(inode: &Arc<dyn Inode>) -> Option<Arc<Devpts>> {
    inode.as_any().downcast_ref::<PtmxInode>().map(|p| p.fs.clone())
}

/// A dentry for /dev/pts/N of `tty` (for TIOCGPTPEER, which opens the
/// slave without a path).
pub fn slave_dentry(tty: &Arc<Terminal>) -> Arc<Dentry> {
    Arc::new(Dentry {
        path: format!("/dev/pts/{}", tty.index).into_bytes(),
        parent: None,
        inode: Arc::new(PtsInode { tty: tty.clone() }),
    })
}

struct DevptsRoot {
    fs: Arc<Devpts>,
}

impl Inode for DevptsRoot {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: self.fs.dev,
            ino: 1,
            mode: libc::S_IFDIR | 0o755,
            nlink: 2,
            blksize: 1024,
            atime: self.fs.created,
            mtime: self.fs.created,
            ctime: self.fs.created,
            ..Stat::default()
        })
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        super::open_dir_or_path(flags, true).map(|ops| ops.unwrap_or_else(|| Arc::new(super::DirOps)))
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        if name == b"ptmx" {
            return Ok(Arc::new(PtmxInode { fs: self.fs.clone() }));
        }
        let index = parse_index(name).ok_or(Errno::ENOENT)?;
        let tty = self.fs.live(index).ok_or(Errno::ENOENT)?;
        Ok(Arc::new(PtsInode { tty }))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut entries = vec![DirEntry {
            name: b"ptmx".to_vec(),
            ino: 2,
            kind: libc::DT_CHR,
        }];
        entries.extend(self.fs.live_indexes().into_iter().map(|i| DirEntry {
            name: i.to_string().into_bytes(),
            ino: u64::from(i) + 3,
            kind: libc::DT_CHR,
        }));
        Ok(entries)
    }

    fn fs_magic(&self) -> u64 {
        DEVPTS_MAGIC
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// "N" without sign or leading zeros.
fn parse_index(name: &[u8]) -> Option<u32> {
    if name.is_empty() || (name.len() > 1 && name[0] == b'0') || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// devpts's own `ptmx`.
struct PtmxInode {
    fs: Arc<Devpts>,
}

impl Inode for PtmxInode {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: self.fs.dev,
            ino: 2,
            mode: libc::S_IFCHR | 0o666,
            nlink: 1,
            rdev: PTMX_RDEV,
            blksize: 1024,
            atime: self.fs.created,
            mtime: self.fs.created,
            ctime: self.fs.created,
            ..Stat::default()
        })
    }

    /// Without a caller's credentials the slave belongs to root; the VFS
    /// opens ptmx nodes itself with them.
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if let Some(ops) = super::open_dir_or_path(flags, false)? {
            return Ok(ops);
        }
        Ok(self.fs.open_master(0, 0)?)
    }

    fn fs_magic(&self) -> u64 {
        DEVPTS_MAGIC
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// /dev/pts/N.
struct PtsInode {
    tty: Arc<Terminal>,
}

impl Inode for PtsInode {
    fn stat(&self) -> Result<Stat> {
        let t = &self.tty;
        Ok(Stat {
            dev: t.dev,
            ino: u64::from(t.index) + 3,
            mode: libc::S_IFCHR | SLAVE_MODE,
            nlink: 1,
            uid: t.uid,
            gid: t.gid,
            rdev: makedev(PTS_MAJOR, t.index),
            blksize: 1024,
            atime: t.created,
            mtime: t.created,
            ctime: t.created,
            ..Stat::default()
        })
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if let Some(ops) = super::open_dir_or_path(flags, false)? {
            return Ok(ops);
        }
        Ok(self.tty.open_slave(false)?)
    }

    fn fs_magic(&self) -> u64 {
        DEVPTS_MAGIC
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_follow_the_master() {
        let fs = Devpts::new();
        let root = fs.root();
        let m0 = fs.open_master(5, 6).unwrap();
        let m1 = fs.open_master(5, 6).unwrap();
        assert_eq!((m0.tty.index, m1.tty.index), (0, 1));
        let names: Vec<Vec<u8>> = root.readdir().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec![b"ptmx".to_vec(), b"0".to_vec(), b"1".to_vec()]);
        let st = root.lookup(b"1").unwrap().stat().unwrap();
        assert_eq!((st.rdev, st.uid, st.mode), (makedev(136, 1), 5, libc::S_IFCHR | 0o620));
        assert!(root.lookup(b"01").is_err());
        drop(m0);
        assert_eq!(root.lookup(b"0").err(), Some(Errno::ENOENT));
        assert_eq!(fs.open_master(0, 0).unwrap().tty.index, 0);
        assert_eq!(root.lookup(b"ptmx").unwrap().stat().unwrap().rdev, PTMX_RDEV);
    }
}
