//! tmpfs: a filesystem whose files live in Sentry memory (tmpfs(5)).
//!
//! Regular files keep their content in one `Vec<u8>`; directories map names
//! to inodes in a `BTreeMap` (so listings come out sorted); symlinks keep
//! their target. FIFOs, sockets and device nodes are metadata only: opening
//! a character device asks [`super::dev`] for the driver of its device
//! number, anything else gives ENXIO for now.
//!
//! Locking: every namespace change of one filesystem (create, link, unlink,
//! rename...) runs under the filesystem's `ns` lock, so a change may hold
//! several directory locks at once; lookups and listings hold one directory
//! lock at a time. An inode's `meta` lock and the filesystem's `used` lock
//! are innermost: nothing else is locked while holding them.

use super::{alloc_anon_dev, dev, lock, open_dir_or_path, read_lock, write_lock};
use crate::errno::{Errno, Result};
use crate::vfs::{dtype_of, CreateAttr, DirEntry, FileOps, FsSpace, Inode, SetAttr, Stat, Timespec};
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

/// statfs(2) f_type of tmpfs.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Largest regular file. File content is one contiguous buffer in Sentry
/// memory, so this is far below Linux's limit; past it writes give EFBIG.
pub const MAX_FILE_SIZE: u64 = 4 << 30;
/// What statfs(2) reports as the size of a tmpfs mounted without `size=`
/// (Linux's default is half of RAM; the Sentry has no fixed RAM size).
const NOMINAL_SIZE: u64 = 4 << 30;
/// Longest file name (NAME_MAX).
const NAME_MAX: usize = 255;
/// st_blksize, and the unit st_blocks is rounded to.
const BLOCK_SIZE: u64 = 4096;
/// Linux tmpfs reports a directory's size as 20 bytes per entry, counting
/// "." and ".." (BOGO_DIRENT_SIZE in mm/shmem.c).
const BOGO_DIRENT_SIZE: u64 = 20;

/// Constructors for tmpfs instances.
pub struct Tmpfs;

impl Tmpfs {
    /// A new, empty tmpfs; returns its root directory, owned by root with
    /// permission bits `root_mode`. `size_limit_bytes` bounds the total file
    /// content (ENOSPC past it), like the `size=` mount option.
    // The constructor returns the root inode, not a `Self`: these types
    // only name the filesystem.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(size_limit_bytes: Option<u64>, root_mode: u32) -> Arc<dyn Inode> {
        Tmpfs::new_root(size_limit_bytes, root_mode, 0, 0)
    }

    /// Like [`Tmpfs::new`], with the root owned by `uid`:`gid`.
    pub fn new_root(size_limit_bytes: Option<u64>, root_mode: u32, uid: u32, gid: u32) -> Arc<TmpfsInode> {
        let fs = Arc::new(FsState {
            dev: alloc_anon_dev(),
            next_ino: AtomicU64::new(1),
            limit: size_limit_bytes,
            used: Mutex::new(0),
            ns: Mutex::new(()),
        });
        let mode = libc::S_IFDIR | (root_mode & 0o7777);
        TmpfsInode::new(&fs, mode, uid, gid, 0, Body::new_dir(Weak::new()))
    }
}

/// State shared by every inode of one tmpfs instance.
struct FsState {
    dev: u64,
    next_ino: AtomicU64,
    /// Bound on `used`, if any.
    limit: Option<u64>,
    /// Bytes of regular-file content currently allocated.
    used: Mutex<u64>,
    /// Serializes namespace changes.
    ns: Mutex<()>,
}

impl FsState {
    /// Reserves up to `want` bytes; returns how many were granted (fewer
    /// only when the size limit is near).
    fn reserve_upto(&self, want: u64) -> Result<u64> {
        let mut used = lock(&self.used)?;
        let room = self.limit.map_or(u64::MAX, |l| l.saturating_sub(*used));
        let granted = want.min(room);
        *used += granted;
        Ok(granted)
    }

    /// Reserves exactly `want` bytes or fails with ENOSPC.
    fn reserve(&self, want: u64) -> Result<()> {
        let granted = self.reserve_upto(want)?;
        if granted < want {
            self.release(granted);
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    fn release(&self, bytes: u64) {
        if let Ok(mut used) = self.used.lock() {
            *used = used.saturating_sub(bytes);
        }
    }
}

/// The mutable metadata of an inode.
#[derive(Clone, Copy)]
struct Meta {
    /// S_IF* | permission bits.
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

struct Dir {
    entries: BTreeMap<Vec<u8>, Arc<TmpfsInode>>,
    /// The directory this one is an entry of (none for the root). Used to
    /// refuse moving a directory below itself.
    parent: Weak<TmpfsInode>,
}

enum Body {
    File(RwLock<Vec<u8>>),
    Dir(Mutex<Dir>),
    Symlink(Vec<u8>),
    /// FIFO, socket or device node.
    Special,
}

impl Body {
    fn new_dir(parent: Weak<TmpfsInode>) -> Body {
        Body::Dir(Mutex::new(Dir {
            entries: BTreeMap::new(),
            parent,
        }))
    }
}

/// A tmpfs file, directory, symlink or special file.
pub struct TmpfsInode {
    fs: Arc<FsState>,
    ino: u64,
    /// S_IFMT bits; an inode never changes type.
    kind: u32,
    me: Weak<TmpfsInode>,
    meta: Mutex<Meta>,
    body: Body,
    /// An O_TMPFILE file that linkat(2) may still give a name to at nlink
    /// 0 (Linux's I_LINKABLE); cleared by that first link.
    linkable: AtomicBool,
    /// End of the range fallocate(FALLOC_FL_KEEP_SIZE) reserved past the
    /// size: st_blocks counts it as Linux's shmem does.
    preallocated: AtomicU64,
    /// Extended attributes by name (listed in name order, as Linux's
    /// simple_xattrs tree gives them).
    xattrs: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl TmpfsInode {
    fn new(fs: &Arc<FsState>, mode: u32, uid: u32, gid: u32, rdev: u64, body: Body) -> Arc<TmpfsInode> {
        let now = Timespec::now();
        let kind = mode & libc::S_IFMT;
        let meta = Meta {
            mode,
            uid,
            gid,
            nlink: if kind == libc::S_IFDIR { 2 } else { 1 },
            rdev,
            atime: now,
            mtime: now,
            ctime: now,
        };
        Arc::new_cyclic(|me| TmpfsInode {
            fs: Arc::clone(fs),
            ino: fs.next_ino.fetch_add(1, Ordering::Relaxed),
            kind,
            me: me.clone(),
            meta: Mutex::new(meta),
            body,
            linkable: AtomicBool::new(false),
            preallocated: AtomicU64::new(0),
            xattrs: Mutex::new(BTreeMap::new()),
        })
    }

    fn is_dir(&self) -> bool {
        self.kind == libc::S_IFDIR
    }

    fn meta(&self) -> Result<MutexGuard<'_, Meta>> {
        lock(&self.meta)
    }

    fn dir(&self) -> Result<&Mutex<Dir>> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn content(&self) -> Result<&RwLock<Vec<u8>>> {
        match &self.body {
            Body::File(c) => Ok(c),
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn arc(&self) -> Result<Arc<TmpfsInode>> {
        self.me.upgrade().ok_or(Errno::EIO)
    }

    /// `other` as an inode of this same filesystem; EXDEV otherwise.
    fn same_fs(&self, other: &Arc<dyn Inode>) -> Result<Arc<TmpfsInode>> {
        match other.as_any().downcast_ref::<TmpfsInode>() {
            Some(t) if Arc::ptr_eq(&t.fs, &self.fs) => t.arc(),
            _ => Err(Errno::EXDEV),
        }
    }

    /// Records a change of the inode itself (chmod, link count...).
    fn touch_ctime(&self) -> Result<()> {
        self.meta()?.ctime = Timespec::now();
        Ok(())
    }

    /// Records a change of the content (file data, directory entries).
    fn touch_mtime(&self) -> Result<()> {
        let now = Timespec::now();
        let mut m = self.meta()?;
        m.mtime = now;
        m.ctime = now;
        Ok(())
    }

    /// relatime: atime moves on a read only when it is not newer than the
    /// last modification (mount(8), relatime).
    fn touch_atime(&self) -> Result<()> {
        let mut m = self.meta()?;
        if m.atime <= m.mtime || m.atime <= m.ctime {
            m.atime = Timespec::now();
        }
        Ok(())
    }

    fn add_nlink(&self, delta: i64) -> Result<()> {
        let mut m = self.meta()?;
        m.nlink = m.nlink.saturating_add_signed(delta);
        m.ctime = Timespec::now();
        Ok(())
    }

    /// The entry `name` of this directory.
    fn child(&self, name: &[u8]) -> Result<Arc<TmpfsInode>> {
        lock(self.dir()?)?.entries.get(name).cloned().ok_or(Errno::ENOENT)
    }

    /// Mode, uid and gid of a new entry: a set-group-ID directory passes
    /// its group on, and its set-group-ID bit to subdirectories (mkdir(2),
    /// "NOTES"; inode(7), "The set-group-ID bit").
    fn new_owner(&self, attr: CreateAttr, kind: u32) -> Result<(u32, u32, u32)> {
        let parent = *self.meta()?;
        let mut mode = kind | (attr.mode & 0o7777);
        let mut gid = attr.gid;
        if parent.mode & libc::S_ISGID != 0 {
            gid = parent.gid;
            if kind == libc::S_IFDIR {
                mode |= libc::S_ISGID;
            }
        }
        Ok((mode, attr.uid, gid))
    }

    /// Adds the entry `name` made by `make` (run with the directory locked,
    /// after the name was found free).
    fn add_entry(&self, name: &[u8], make: impl FnOnce() -> Result<Arc<TmpfsInode>>) -> Result<Arc<TmpfsInode>> {
        check_name(name)?;
        let _ns = lock(&self.fs.ns)?;
        let mut dir = lock(self.dir()?)?;
        if self.meta()?.nlink == 0 {
            // The directory was removed: nothing can be created in it.
            return Err(Errno::ENOENT);
        }
        if dir.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let child = make()?;
        if let Body::Dir(d) = &child.body {
            lock(d)?.parent = self.me.clone();
            self.add_nlink(1)?;
        }
        dir.entries.insert(name.to_vec(), Arc::clone(&child));
        drop(dir);
        self.touch_mtime()?;
        Ok(child)
    }

    fn new_child(&self, attr: CreateAttr, kind: u32, rdev: u64, body: Body) -> Result<Arc<TmpfsInode>> {
        let (mode, uid, gid) = self.new_owner(attr, kind)?;
        Ok(TmpfsInode::new(&self.fs, mode, uid, gid, rdev, body))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let data = read_lock(self.content()?)?;
        let len = data.len() as u64;
        let start = offset.min(len) as usize;
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        drop(data);
        self.touch_atime()?;
        Ok(n)
    }

    /// Writes at `offset`, zero-filling any hole before it. Short when the
    /// size limit allows only part of the write; ENOSPC when it allows none;
    /// EFBIG at or past [`MAX_FILE_SIZE`] (write(2)).
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut end = offset.saturating_add(buf.len() as u64).min(MAX_FILE_SIZE);
        let mut data = write_lock(self.content()?)?;
        let old = data.len() as u64;
        if end > old {
            let granted = self.fs.reserve_upto(end - old)?;
            end = old + granted;
            if end <= offset {
                self.fs.release(granted);
                return Err(Errno::ENOSPC);
            }
            if data.try_reserve((end - old) as usize).is_err() {
                self.fs.release(granted);
                return Err(Errno::ENOSPC);
            }
            data.resize(end as usize, 0);
        }
        let n = (end - offset) as usize;
        data[offset as usize..end as usize].copy_from_slice(&buf[..n]);
        drop(data);
        self.touch_mtime()?;
        Ok(n)
    }

    /// Sets the size of a regular file, zero-filling when it grows.
    /// Returns whether the size changed.
    fn set_size(&self, size: u64) -> Result<bool> {
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut data = write_lock(self.content()?)?;
        let old = data.len() as u64;
        if size > old {
            self.fs.reserve(size - old)?;
            if data.try_reserve((size - old) as usize).is_err() {
                self.fs.release(size - old);
                return Err(Errno::ENOSPC);
            }
        } else {
            self.fs.release(old - size);
        }
        data.resize(size as usize, 0);
        // Truncation frees what fallocate reserved past the new size.
        self.preallocated.fetch_min(size, Ordering::Relaxed);
        if size < old / 2 {
            data.shrink_to_fit();
        }
        Ok(size != old)
    }

    fn size(&self) -> Result<u64> {
        Ok(match &self.body {
            Body::File(c) => read_lock(c)?.len() as u64,
            Body::Dir(d) => (lock(d)?.entries.len() as u64 + 2) * BOGO_DIRENT_SIZE,
            Body::Symlink(t) => t.len() as u64,
            Body::Special => 0,
        })
    }

    /// True when this directory is `dir` or lies below it.
    fn is_within(&self, dir: &Arc<TmpfsInode>) -> Result<bool> {
        let mut cur = self.arc()?;
        loop {
            if Arc::ptr_eq(&cur, dir) {
                return Ok(true);
            }
            let parent = lock(cur.dir()?)?.parent.upgrade();
            match parent {
                Some(p) => cur = p,
                None => return Ok(false),
            }
        }
    }

    /// The checks of rename(2) once the source `src` is known, in Linux's
    /// order. `Ok(false)` means there is nothing to do (same file).
    fn rename_check(src: &Arc<TmpfsInode>, new_dir: &Arc<TmpfsInode>, new_name: &[u8]) -> Result<bool> {
        if new_dir.meta()?.nlink == 0 {
            // The target directory was removed.
            return Err(Errno::ENOENT);
        }
        // EINVAL: "an attempt was made to make a directory a subdirectory
        // of itself" (rename(2)).
        if src.is_dir() && new_dir.is_within(src)? {
            return Err(Errno::EINVAL);
        }
        let dst = match new_dir.child(new_name) {
            Ok(d) => d,
            Err(e) if e == Errno::ENOENT => return Ok(true),
            Err(e) => return Err(e),
        };
        // "If oldpath and newpath are existing hard links referring to the
        // same file, then rename() does nothing" (rename(2)).
        if Arc::ptr_eq(&dst, src) {
            return Ok(false);
        }
        match (src.is_dir(), dst.is_dir()) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            (true, true) if !lock(dst.dir()?)?.entries.is_empty() => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        Ok(true)
    }

    /// Moves the entry once every check passed.
    fn rename_commit(&self, name: &[u8], new_dir: &Arc<TmpfsInode>, new_name: &[u8]) -> Result<()> {
        let same_dir = std::ptr::eq(self, Arc::as_ptr(new_dir));
        let mut from = lock(self.dir()?)?;
        let src = from.entries.remove(name).ok_or(Errno::ENOENT)?;
        let replaced = if same_dir {
            from.entries.insert(new_name.to_vec(), Arc::clone(&src))
        } else {
            lock(new_dir.dir()?)?
                .entries
                .insert(new_name.to_vec(), Arc::clone(&src))
        };
        drop(from);
        if let Some(old) = replaced {
            if let Body::Dir(d) = &old.body {
                lock(d)?.parent = Weak::new();
                old.meta()?.nlink = 0;
                new_dir.add_nlink(-1)?;
            }
            old.add_nlink(-1)?;
        }
        if let (Body::Dir(d), false) = (&src.body, same_dir) {
            lock(d)?.parent = Arc::downgrade(new_dir);
            self.add_nlink(-1)?;
            new_dir.add_nlink(1)?;
        }
        // Like Linux tmpfs, a rename changes the moved inode's ctime.
        src.touch_ctime()?;
        self.touch_mtime()?;
        new_dir.touch_mtime()
    }

    /// Swaps entry `name` here with `new_dir`/`new_name` once the checks
    /// passed: a directory changing parent takes its ".." link along.
    fn exchange_commit(&self, name: &[u8], new_dir: &Arc<TmpfsInode>, new_name: &[u8]) -> Result<()> {
        let same_dir = std::ptr::eq(self, Arc::as_ptr(new_dir));
        let (a, b) = if same_dir {
            let mut dir = lock(self.dir()?)?;
            let a = dir.entries.get(name).cloned().ok_or(Errno::ENOENT)?;
            let b = dir.entries.get(new_name).cloned().ok_or(Errno::ENOENT)?;
            dir.entries.insert(name.to_vec(), Arc::clone(&b));
            dir.entries.insert(new_name.to_vec(), Arc::clone(&a));
            (a, b)
        } else {
            let mut from = lock(self.dir()?)?;
            let mut to = lock(new_dir.dir()?)?;
            let a = from.entries.get(name).cloned().ok_or(Errno::ENOENT)?;
            let b = to.entries.get(new_name).cloned().ok_or(Errno::ENOENT)?;
            from.entries.insert(name.to_vec(), Arc::clone(&b));
            to.entries.insert(new_name.to_vec(), Arc::clone(&a));
            (a, b)
        };
        if !same_dir {
            let me = self.arc()?;
            for (moved, to, from) in [(&a, new_dir, &me), (&b, &me, new_dir)] {
                if let Body::Dir(d) = &moved.body {
                    lock(d)?.parent = Arc::downgrade(to);
                    from.add_nlink(-1)?;
                    to.add_nlink(1)?;
                }
            }
        }
        a.touch_ctime()?;
        b.touch_ctime()?;
        self.touch_mtime()?;
        new_dir.touch_mtime()
    }

    fn set_owner(m: &mut Meta, attr: &SetAttr) {
        if attr.uid.is_none() && attr.gid.is_none() {
            return;
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        // chown(2): changing the owner or group of a non-directory clears
        // S_ISUID, and S_ISGID when group-execute is set (a set-group-ID
        // bit without it marks mandatory locking); Linux does so even for
        // root.
        if m.mode & libc::S_IFMT != libc::S_IFDIR {
            m.mode &= !libc::S_ISUID;
            if m.mode & libc::S_IXGRP != 0 {
                m.mode &= !libc::S_ISGID;
            }
        }
    }

    /// Opens a regular file; O_TRUNC empties it and, as open(2) says,
    /// updates mtime and ctime even when it was already empty.
    fn open_file(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if flags & libc::O_TRUNC != 0 {
            self.set_size(0)?;
            self.touch_mtime()?;
        }
        Ok(Arc::new(TmpfsFile { inode: self.arc()? }))
    }
}

impl Drop for TmpfsInode {
    fn drop(&mut self) {
        if let Body::File(c) = &self.body {
            if let Ok(data) = c.read() {
                self.fs.release(data.len() as u64);
            }
        }
    }
}

/// Names arrive checked by the VFS; refuse anything that could corrupt the
/// tree anyway.
fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

impl Inode for TmpfsInode {
    fn stat(&self) -> Result<Stat> {
        let m = *self.meta()?;
        let size = self.size()?;
        let blocks = if self.kind == libc::S_IFREG {
            let allocated = size.max(self.preallocated.load(Ordering::Relaxed));
            allocated.div_ceil(BLOCK_SIZE) * (BLOCK_SIZE / 512)
        } else {
            0
        };
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: BLOCK_SIZE,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
        })
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if let Some(ops) = open_dir_or_path(flags, self.is_dir())? {
            return Ok(ops);
        }
        match &self.body {
            Body::File(_) => self.open_file(flags),
            Body::Symlink(_) => Err(Errno::ELOOP),
            Body::Special => {
                let rdev = self.meta()?.rdev;
                dev::open_node(self.kind, rdev, flags)
            }
            Body::Dir(_) => Err(Errno::EISDIR),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        Ok(self.child(name)?)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let dir = lock(self.dir()?)?;
        Ok(dir
            .entries
            .iter()
            .map(|(name, inode)| DirEntry {
                name: name.clone(),
                ino: inode.ino,
                kind: dtype_of(inode.kind),
            })
            .collect())
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        match &self.body {
            Body::Symlink(target) => Ok(target.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn create(&self, name: &[u8], attr: CreateAttr) -> Result<Arc<dyn Inode>> {
        let body = Body::File(RwLock::new(Vec::new()));
        Ok(self.add_entry(name, || self.new_child(attr, libc::S_IFREG, 0, body))?)
    }

    /// O_TMPFILE: a file in no directory, gone when its last fd closes.
    fn create_tmpfile(&self, attr: CreateAttr, linkable: bool) -> Result<Arc<dyn Inode>> {
        self.dir()?;
        if self.meta()?.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        let body = Body::File(RwLock::new(Vec::new()));
        let file = self.new_child(attr, libc::S_IFREG, 0, body)?;
        file.meta()?.nlink = 0;
        file.linkable.store(linkable, Ordering::Release);
        Ok(file)
    }

    /// mkdir(2) keeps only the permission bits and the sticky bit.
    fn mkdir(&self, name: &[u8], attr: CreateAttr) -> Result<()> {
        let attr = CreateAttr {
            mode: attr.mode & (0o777 | libc::S_ISVTX),
            ..attr
        };
        let body = Body::new_dir(Weak::new());
        self.add_entry(name, || self.new_child(attr, libc::S_IFDIR, 0, body))?;
        Ok(())
    }

    /// mknod(2): a type of 0 or S_IFREG makes a regular file; S_IFDIR is
    /// EPERM; unknown types are EINVAL. Only devices keep `rdev`.
    fn mknod(&self, name: &[u8], attr: CreateAttr, rdev: u64) -> Result<()> {
        let kind = attr.mode & libc::S_IFMT;
        let (body, rdev) = match kind {
            0 | libc::S_IFREG => (Body::File(RwLock::new(Vec::new())), 0),
            libc::S_IFCHR | libc::S_IFBLK => (Body::Special, rdev),
            libc::S_IFIFO | libc::S_IFSOCK => (Body::Special, 0),
            libc::S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let kind = if kind == 0 { libc::S_IFREG } else { kind };
        self.add_entry(name, || self.new_child(attr, kind, rdev, body))?;
        Ok(())
    }

    /// symlink(2): an empty target is ENOENT.
    fn symlink(&self, name: &[u8], target: &[u8], attr: CreateAttr) -> Result<()> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let attr = CreateAttr { mode: 0o777, ..attr };
        let body = Body::Symlink(target.to_vec());
        self.add_entry(name, || self.new_child(attr, libc::S_IFLNK, 0, body))?;
        Ok(())
    }

    /// link(2): EPERM for a directory, EXDEV across filesystems, ENOENT for
    /// a file whose last link is gone.
    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        self.dir()?;
        let target = self.same_fs(target)?;
        if target.is_dir() {
            return Err(Errno::EPERM);
        }
        self.add_entry(name, || {
            if target.meta()?.nlink == 0 && !target.linkable.swap(false, Ordering::AcqRel) {
                return Err(Errno::ENOENT);
            }
            target.add_nlink(1)?;
            Ok(Arc::clone(&target))
        })?;
        Ok(())
    }

    /// unlink(2): Linux gives EISDIR for a directory (POSIX says EPERM).
    /// An open file keeps working after its last link is gone.
    fn unlink(&self, name: &[u8]) -> Result<()> {
        let _ns = lock(&self.fs.ns)?;
        let mut dir = lock(self.dir()?)?;
        let child = dir.entries.get(name).ok_or(Errno::ENOENT)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        let child = dir.entries.remove(name).ok_or(Errno::ENOENT)?;
        drop(dir);
        child.add_nlink(-1)?;
        self.touch_mtime()
    }

    /// rmdir(2): ENOTDIR for a non-directory, ENOTEMPTY unless empty.
    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let _ns = lock(&self.fs.ns)?;
        let mut dir = lock(self.dir()?)?;
        let child = dir.entries.get(name).ok_or(Errno::ENOENT)?;
        let mut child_dir = lock(child.dir()?)?;
        if !child_dir.entries.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        child_dir.parent = Weak::new();
        drop(child_dir);
        let child = dir.entries.remove(name).ok_or(Errno::ENOENT)?;
        drop(dir);
        {
            let mut m = child.meta()?;
            m.nlink = 0;
            m.ctime = Timespec::now();
        }
        self.add_nlink(-1)?;
        self.touch_mtime()
    }

    /// rename(2), in Linux's order of checks: ENOENT, EXDEV, EINVAL (into
    /// its own subtree), same file (nothing to do), ENOTDIR / EISDIR type
    /// mismatch, ENOTEMPTY target directory.
    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> Result<()> {
        check_name(new_name)?;
        let new_dir = self.same_fs(new_dir)?;
        new_dir.dir()?;
        let _ns = lock(&self.fs.ns)?;
        let src = self.child(name)?;
        if std::ptr::eq(self, Arc::as_ptr(&new_dir)) && name == new_name {
            return Ok(());
        }
        if !TmpfsInode::rename_check(&src, &new_dir, new_name)? {
            return Ok(());
        }
        self.rename_commit(name, &new_dir, new_name)
    }

    /// RENAME_EXCHANGE: ENOENT unless both exist, EINVAL when a directory
    /// would end up below itself; the same entry twice does nothing.
    fn exchange(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> Result<()> {
        check_name(new_name)?;
        let new_dir = self.same_fs(new_dir)?;
        new_dir.dir()?;
        let _ns = lock(&self.fs.ns)?;
        let a = self.child(name)?;
        let b = new_dir.child(new_name)?;
        if Arc::ptr_eq(&a, &b) {
            return Ok(());
        }
        let me = self.arc()?;
        if (a.is_dir() && new_dir.is_within(&a)?) || (b.is_dir() && me.is_within(&b)?) {
            return Err(Errno::EINVAL);
        }
        self.exchange_commit(name, &new_dir, new_name)
    }

    fn setattr(&self, attr: SetAttr) -> Result<()> {
        let mut resized = false;
        if let Some(size) = attr.size {
            resized = self.set_size(size)?;
        }
        let now = Timespec::now();
        let mut m = self.meta()?;
        TmpfsInode::set_owner(&mut m, &attr);
        if let Some(mode) = attr.mode {
            m.mode = self.kind | (mode & 0o7777);
        }
        if let Some(atime) = attr.atime {
            m.atime = atime;
        }
        if let Some(mtime) = attr.mtime {
            m.mtime = mtime;
        }
        // truncate(2): mtime and ctime change only if the size did.
        if resized {
            m.mtime = now;
        }
        m.ctime = now;
        Ok(())
    }

    fn fs_magic(&self) -> u64 {
        TMPFS_MAGIC
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        lock(&self.xattrs)?.get(name).cloned().ok_or(Errno::ENODATA)
    }

    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        Ok(lock(&self.xattrs)?.keys().cloned().collect())
    }

    /// simple_xattr_set: the flags decide between create and replace; the
    /// inode's ctime changes.
    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> Result<()> {
        // system.* (POSIX ACLs) has no handler here: stored bytes that
        // nothing enforced would pretend to be an ACL.
        if name.starts_with(b"system.") {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut xattrs = lock(&self.xattrs)?;
        let present = xattrs.contains_key(name);
        if present && flags & libc::XATTR_CREATE != 0 {
            return Err(Errno::EEXIST);
        }
        if !present && flags & libc::XATTR_REPLACE != 0 {
            return Err(Errno::ENODATA);
        }
        xattrs.insert(name.to_vec(), value.to_vec());
        drop(xattrs);
        self.meta()?.ctime = Timespec::now();
        Ok(())
    }

    fn removexattr(&self, name: &[u8]) -> Result<()> {
        lock(&self.xattrs)?.remove(name).ok_or(Errno::ENODATA)?;
        self.meta()?.ctime = Timespec::now();
        Ok(())
    }

    /// The `size=` limit (nominal without one) and the file content held.
    fn fs_space(&self) -> Option<FsSpace> {
        let used = *lock(&self.fs.used).ok()?;
        Some(FsSpace {
            total: self.fs.limit.unwrap_or(NOMINAL_SIZE),
            used,
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open tmpfs regular file. It holds the inode, so it keeps working
/// after the last link is removed.
struct TmpfsFile {
    inode: Arc<TmpfsInode>,
}

impl FileOps for TmpfsFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.inode.read_at(buf, offset)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.inode.write_at(buf, offset)
    }
    fn size(&self) -> Result<u64> {
        self.inode.size()
    }
    fn fallocate(&self, mode: i32, offset: u64, len: u64) -> Result<()> {
        self.inode.fallocate(mode, offset, len)
    }
}

impl TmpfsInode {
    /// fallocate(2) as Linux's shmem_fallocate: only FALLOC_FL_KEEP_SIZE
    /// and FALLOC_FL_PUNCH_HOLE (EOPNOTSUPP for other modes). Content is
    /// one buffer, so allocation only grows the size (or, with KEEP_SIZE,
    /// the reservation st_blocks shows); a punched hole reads as zeros.
    fn fallocate(&self, mode: i32, offset: u64, len: u64) -> Result<()> {
        if mode & !(libc::FALLOC_FL_KEEP_SIZE | libc::FALLOC_FL_PUNCH_HOLE) != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if mode & libc::FALLOC_FL_PUNCH_HOLE != 0 {
            return self.zero_range(offset, end);
        }
        if mode & libc::FALLOC_FL_KEEP_SIZE != 0 {
            self.content()?;
            self.preallocated.fetch_max(end, Ordering::Relaxed);
            self.touch_ctime()?;
            return Ok(());
        }
        if end > self.size()? {
            self.set_size(end)?;
        }
        self.touch_ctime()
    }

    /// Zeroes the part of `[offset, end)` inside the file.
    fn zero_range(&self, offset: u64, end: u64) -> Result<()> {
        let mut data = write_lock(self.content()?)?;
        let len = data.len() as u64;
        let (start, stop) = (offset.min(len) as usize, end.min(len) as usize);
        data[start..stop].fill(0);
        drop(data);
        self.touch_mtime()
    }

    /// A regular file in this filesystem that no directory lists
    /// (memfd_create(2)), with permission bits `mode` and no links.
    pub fn new_detached_file(&self, mode: u32, uid: u32, gid: u32) -> Result<Arc<TmpfsInode>> {
        let body = Body::File(RwLock::new(Vec::new()));
        let file = TmpfsInode::new(&self.fs, libc::S_IFREG | (mode & 0o7777), uid, gid, 0, body);
        file.meta()?.nlink = 0;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: CreateAttr = CreateAttr {
        mode: 0o644,
        uid: 0,
        gid: 0,
    };

    fn new_fs() -> Arc<dyn Inode> {
        Tmpfs::new(None, 0o755)
    }

    fn write_file(dir: &Arc<dyn Inode>, name: &[u8], data: &[u8]) -> Arc<dyn Inode> {
        let f = dir.create(name, ROOT).unwrap();
        let ops = f.open(libc::O_WRONLY).unwrap();
        assert_eq!(ops.write(data, 0).unwrap(), data.len());
        f
    }

    fn read_all(inode: &Arc<dyn Inode>) -> Vec<u8> {
        let ops = inode.open(libc::O_RDONLY).unwrap();
        let mut buf = vec![0u8; ops.size().unwrap() as usize + 16];
        let n = ops.read(&mut buf, 0).unwrap();
        buf.truncate(n);
        buf
    }

    fn names(dir: &Arc<dyn Inode>) -> Vec<Vec<u8>> {
        dir.readdir().unwrap().into_iter().map(|e| e.name).collect()
    }

    fn nlink(inode: &Arc<dyn Inode>) -> u64 {
        inode.stat().unwrap().nlink
    }

    #[test]
    fn files_read_write_and_sparse_zero_fill() {
        let root = new_fs();
        let f = write_file(&root, b"f", b"hello");
        let ops = f.open(libc::O_RDWR).unwrap();
        assert_eq!(ops.write(b"!", 10).unwrap(), 1);
        assert_eq!(read_all(&f), b"hello\0\0\0\0\0!");
        let st = f.stat().unwrap();
        assert!(st.is_regular());
        assert_eq!((st.size, st.blocks, st.nlink), (11, 8, 1));
        let mut buf = [0u8; 4];
        assert_eq!(ops.read(&mut buf, 100).unwrap(), 0, "EOF past the end");
        assert_eq!(root.lookup(b"f").unwrap().stat().unwrap().ino, st.ino);
        assert_eq!(root.lookup(b"nope").err(), Some(Errno::ENOENT));
        assert_eq!(f.lookup(b"x").err(), Some(Errno::ENOTDIR));
    }

    #[test]
    fn size_limit_gives_short_write_then_enospc() {
        let root = Tmpfs::new(Some(10), 0o755);
        let f = root.create(b"f", ROOT).unwrap();
        let ops = f.open(libc::O_WRONLY).unwrap();
        assert_eq!(ops.write(&[1; 8], 0).unwrap(), 8);
        assert_eq!(ops.write(&[2; 8], 8).unwrap(), 2);
        assert_eq!(ops.write(&[3; 1], 10).err(), Some(Errno::ENOSPC));
        assert_eq!(
            f.setattr(SetAttr {
                size: Some(11),
                ..Default::default()
            })
            .err(),
            Some(Errno::ENOSPC)
        );
        // Overwriting within the file needs no new space.
        assert_eq!(ops.write(&[4; 4], 0).unwrap(), 4);
        // Freeing space (truncate, then unlink) makes room again.
        f.setattr(SetAttr {
            size: Some(5),
            ..Default::default()
        })
        .unwrap();
        let g = write_file(&root, b"g", &[5; 5]);
        assert_eq!(g.stat().unwrap().size, 5);
        drop((ops, f));
        root.unlink(b"f").unwrap();
        write_file(&root, b"h", &[6; 5]);
    }

    #[test]
    fn fallocate_grows_reserves_and_punches() {
        let root = new_fs();
        let f = write_file(&root, b"f", b"abcdefgh");
        let ops = f.open(libc::O_RDWR).unwrap();
        ops.fallocate(0, 4, 12).unwrap();
        assert_eq!(f.stat().unwrap().size, 16);
        ops.fallocate(libc::FALLOC_FL_KEEP_SIZE, 0, 1 << 20).unwrap();
        let st = f.stat().unwrap();
        assert_eq!((st.size, st.blocks * 512), (16, 1 << 20));
        ops.fallocate(libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, 2, 100)
            .unwrap();
        assert_eq!(read_all(&f), b"ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(ops.fallocate(0x10, 0, 1).err(), Some(Errno::EOPNOTSUPP));
        f.setattr(SetAttr {
            size: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.stat().unwrap().blocks, 0, "truncation frees the reservation");
    }

    #[test]
    fn efbig_past_the_maximum() {
        let root = new_fs();
        let f = root.create(b"f", ROOT).unwrap();
        let ops = f.open(libc::O_WRONLY).unwrap();
        assert_eq!(ops.write(b"x", MAX_FILE_SIZE).err(), Some(Errno::EFBIG));
        assert_eq!(
            f.setattr(SetAttr {
                size: Some(MAX_FILE_SIZE + 1),
                ..Default::default()
            })
            .err(),
            Some(Errno::EFBIG)
        );
    }

    #[test]
    fn o_trunc_and_writes_update_times() {
        let root = new_fs();
        let f = write_file(&root, b"f", b"data");
        let old = Timespec { sec: 1, nsec: 0 };
        f.setattr(SetAttr {
            atime: Some(old),
            mtime: Some(old),
            ..Default::default()
        })
        .unwrap();
        let st = f.stat().unwrap();
        assert_eq!((st.atime, st.mtime), (old, old));
        assert!(st.ctime > old);
        f.open(libc::O_WRONLY | libc::O_TRUNC).unwrap();
        let st = f.stat().unwrap();
        assert_eq!(st.size, 0);
        assert!(st.mtime > old);
        f.setattr(SetAttr {
            mtime: Some(old),
            ..Default::default()
        })
        .unwrap();
        f.open(libc::O_WRONLY).unwrap().write(b"x", 0).unwrap();
        assert!(f.stat().unwrap().mtime > old);
    }

    #[test]
    fn directory_changes_update_parent_times() {
        let root = new_fs();
        let old = Timespec { sec: 1, nsec: 0 };
        let set_old = || {
            root.setattr(SetAttr {
                mtime: Some(old),
                ..Default::default()
            })
            .unwrap()
        };
        set_old();
        root.create(b"f", ROOT).unwrap();
        assert!(root.stat().unwrap().mtime > old);
        set_old();
        root.unlink(b"f").unwrap();
        assert!(root.stat().unwrap().mtime > old);
    }

    #[test]
    fn inode_numbers_unique_and_dev_per_instance() {
        let a = new_fs();
        let b = new_fs();
        a.create(b"x", ROOT).unwrap();
        a.mkdir(b"y", ROOT).unwrap();
        let inos: Vec<u64> = a.readdir().unwrap().iter().map(|e| e.ino).collect();
        assert_eq!(inos.len(), 2);
        assert_ne!(inos[0], inos[1]);
        assert!(!inos.contains(&a.stat().unwrap().ino));
        assert_ne!(a.stat().unwrap().dev, b.stat().unwrap().dev);
        assert_eq!(a.fs_magic(), TMPFS_MAGIC);
    }

    #[test]
    fn directory_nlink_and_size() {
        let root = new_fs();
        assert_eq!((nlink(&root), root.stat().unwrap().size), (2, 40));
        root.mkdir(b"a", ROOT).unwrap();
        root.mkdir(b"b", ROOT).unwrap();
        root.create(b"f", ROOT).unwrap();
        assert_eq!((nlink(&root), root.stat().unwrap().size), (4, 100));
        root.rmdir(b"a").unwrap();
        assert_eq!(nlink(&root), 3);
        let b = root.lookup(b"b").unwrap();
        b.mkdir(b"c", ROOT).unwrap();
        // Moving a directory moves its ".." link.
        root.lookup(b"b").unwrap().rename(b"c", &root, b"c").unwrap();
        assert_eq!((nlink(&root), nlink(&b)), (4, 2));
        let kinds: Vec<u8> = root.readdir().unwrap().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [libc::DT_DIR, libc::DT_DIR, libc::DT_REG]);
    }

    #[test]
    fn create_rules() {
        let root = new_fs();
        root.create(b"f", ROOT).unwrap();
        assert_eq!(root.create(b"f", ROOT).err(), Some(Errno::EEXIST));
        assert_eq!(root.mkdir(b"f", ROOT).err(), Some(Errno::EEXIST));
        let f = root.lookup(b"f").unwrap();
        assert_eq!(f.create(b"x", ROOT).err(), Some(Errno::ENOTDIR));
        assert_eq!(root.create(&[b'n'; 256], ROOT).err(), Some(Errno::ENAMETOOLONG));
        assert_eq!(root.symlink(b"l", b"", ROOT).err(), Some(Errno::ENOENT));
        root.mkdir(b"d", CreateAttr { mode: 0o7777, ..ROOT }).unwrap();
        assert_eq!(root.lookup(b"d").unwrap().stat().unwrap().mode, libc::S_IFDIR | 0o1777);
        assert_eq!(
            root.mknod(
                b"dd",
                CreateAttr {
                    mode: libc::S_IFDIR | 0o755,
                    ..ROOT
                },
                0
            )
            .err(),
            Some(Errno::EPERM)
        );
        root.mknod(
            b"p",
            CreateAttr {
                mode: libc::S_IFIFO | 0o600,
                ..ROOT
            },
            0,
        )
        .unwrap();
        let p = root.lookup(b"p").unwrap();
        assert_eq!(p.stat().unwrap().mode, libc::S_IFIFO | 0o600);
        assert_eq!(p.open(libc::O_RDONLY).err(), Some(Errno::ENXIO));
        root.mknod(b"r", CreateAttr { mode: 0o600, ..ROOT }, 0).unwrap();
        assert!(root.lookup(b"r").unwrap().stat().unwrap().is_regular());
    }

    #[test]
    fn setgid_directory_passes_group_on() {
        let root = new_fs();
        root.mkdir(
            b"g",
            CreateAttr {
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        )
        .unwrap();
        let g = root.lookup(b"g").unwrap();
        g.setattr(SetAttr {
            mode: Some(0o2775),
            gid: Some(50),
            ..Default::default()
        })
        .unwrap();
        let user = CreateAttr {
            mode: 0o755,
            uid: 1000,
            gid: 1000,
        };
        let f = g.create(b"f", user).unwrap();
        g.mkdir(b"d", user).unwrap();
        assert_eq!(f.stat().unwrap().gid, 50);
        let d = g.lookup(b"d").unwrap().stat().unwrap();
        assert_eq!((d.gid, d.mode & libc::S_ISGID), (50, libc::S_ISGID));
    }

    #[test]
    fn symlinks_and_open_rules() {
        let root = new_fs();
        root.symlink(b"l", b"/some/where", ROOT).unwrap();
        let l = root.lookup(b"l").unwrap();
        let st = l.stat().unwrap();
        assert!(st.is_symlink());
        assert_eq!((st.size, st.mode & 0o777), (11, 0o777));
        assert_eq!(l.readlink().unwrap(), b"/some/where");
        assert_eq!(l.open(libc::O_RDONLY).err(), Some(Errno::ELOOP));
        assert!(l.open(libc::O_PATH).is_ok());
        assert_eq!(root.readlink().err(), Some(Errno::EINVAL));
        assert_eq!(root.open(libc::O_WRONLY).err(), Some(Errno::EISDIR));
        let d = root.open(libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
        assert_eq!(d.read(&mut [0; 4], 0).err(), Some(Errno::EISDIR));
    }

    #[test]
    fn hard_links_count_and_survive_unlink() {
        let root = new_fs();
        let f = write_file(&root, b"a", b"content");
        root.mkdir(b"d", ROOT).unwrap();
        let d = root.lookup(b"d").unwrap();
        d.link(b"b", &f).unwrap();
        assert_eq!(nlink(&f), 2);
        assert_eq!(root.link(b"a", &f).err(), Some(Errno::EEXIST));
        assert_eq!(root.link(b"dl", &d).err(), Some(Errno::EPERM));
        let other = new_fs();
        assert_eq!(other.link(b"x", &f).err(), Some(Errno::EXDEV));
        let ops = f.open(libc::O_RDWR).unwrap();
        root.unlink(b"a").unwrap();
        assert_eq!(nlink(&f), 1);
        assert_eq!(read_all(&d.lookup(b"b").unwrap()), b"content");
        d.unlink(b"b").unwrap();
        assert_eq!(nlink(&f), 0);
        // Still usable while open, with nothing left in the directories.
        ops.write(b"C", 0).unwrap();
        let mut buf = [0u8; 7];
        ops.read(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"Content");
        assert_eq!(d.link(b"again", &f).err(), Some(Errno::ENOENT));
    }

    #[test]
    fn unlink_and_rmdir_rules() {
        let root = new_fs();
        root.mkdir(b"d", ROOT).unwrap();
        root.create(b"f", ROOT).unwrap();
        let d = root.lookup(b"d").unwrap();
        d.create(b"inner", ROOT).unwrap();
        assert_eq!(root.unlink(b"d").err(), Some(Errno::EISDIR));
        assert_eq!(root.rmdir(b"f").err(), Some(Errno::ENOTDIR));
        assert_eq!(root.rmdir(b"d").err(), Some(Errno::ENOTEMPTY));
        assert_eq!(root.unlink(b"none").err(), Some(Errno::ENOENT));
        assert_eq!(root.rmdir(b"none").err(), Some(Errno::ENOENT));
        d.unlink(b"inner").unwrap();
        root.rmdir(b"d").unwrap();
        assert_eq!(nlink(&d), 0);
        // A removed directory (still someone's cwd) accepts no new entries.
        assert_eq!(d.create(b"x", ROOT).err(), Some(Errno::ENOENT));
        assert_eq!(d.mkdir(b"x", ROOT).err(), Some(Errno::ENOENT));
        assert_eq!(names(&root), [b"f".to_vec()]);
    }

    #[test]
    fn rename_rules() {
        let root = new_fs();
        root.mkdir(b"d", ROOT).unwrap();
        let d = root.lookup(b"d").unwrap();
        d.mkdir(b"e", ROOT).unwrap();
        let e = d.lookup(b"e").unwrap();
        root.create(b"f", ROOT).unwrap();
        root.mkdir(b"empty", ROOT).unwrap();
        assert_eq!(root.rename(b"d", &e, b"x").err(), Some(Errno::EINVAL));
        assert_eq!(root.rename(b"d", &d, b"x").err(), Some(Errno::EINVAL));
        root.rename(b"d", &root, b"d").unwrap();
        assert_eq!(d.rename(b"e", &root, b"f").err(), Some(Errno::ENOTDIR));
        assert_eq!(root.rename(b"f", &root, b"d").err(), Some(Errno::EISDIR));
        assert_eq!(root.rename(b"empty", &root, b"d").err(), Some(Errno::ENOTEMPTY));
        assert_eq!(root.rename(b"nope", &root, b"x").err(), Some(Errno::ENOENT));
        assert_eq!(root.rename(b"f", &new_fs(), b"x").err(), Some(Errno::EXDEV));
        // Replacing an empty directory and a file.
        let old_empty = root.lookup(b"empty").unwrap();
        d.rename(b"e", &root, b"empty").unwrap();
        assert_eq!(nlink(&old_empty), 0);
        assert_eq!(
            root.lookup(b"empty").unwrap().stat().unwrap().ino,
            e.stat().unwrap().ino
        );
        root.create(b"g", ROOT).unwrap();
        let g = root.lookup(b"g").unwrap();
        root.rename(b"f", &root, b"g").unwrap();
        assert_eq!(nlink(&g), 0);
        assert_eq!(names(&root), [b"d".to_vec(), b"empty".to_vec(), b"g".to_vec()]);
        // Hard links to the same file: nothing happens.
        root.link(b"h", &root.lookup(b"g").unwrap()).unwrap();
        root.rename(b"g", &root, b"h").unwrap();
        assert_eq!(
            names(&root),
            [b"d".to_vec(), b"empty".to_vec(), b"g".to_vec(), b"h".to_vec()]
        );
        // A moved directory can no longer be moved below its new parent's
        // old position... but can be moved below its new parent's sibling.
        root.rename(b"empty", &d, b"moved").unwrap();
        assert_eq!(root.rename(b"d", &e, b"x").err(), Some(Errno::EINVAL));
    }

    #[test]
    fn setattr_rules() {
        let root = new_fs();
        let f = root.create(b"f", CreateAttr { mode: 0o6755, ..ROOT }).unwrap();
        f.setattr(SetAttr {
            mode: Some(0o6755),
            ..Default::default()
        })
        .unwrap();
        f.setattr(SetAttr {
            uid: Some(1),
            ..Default::default()
        })
        .unwrap();
        let st = f.stat().unwrap();
        assert_eq!((st.mode, st.uid, st.gid), (libc::S_IFREG | 0o755, 1, 0));
        assert_eq!(
            root.setattr(SetAttr {
                size: Some(0),
                ..Default::default()
            })
            .err(),
            Some(Errno::EISDIR)
        );
        root.symlink(b"l", b"t", ROOT).unwrap();
        let l = root.lookup(b"l").unwrap();
        assert_eq!(
            l.setattr(SetAttr {
                size: Some(0),
                ..Default::default()
            })
            .err(),
            Some(Errno::EINVAL)
        );
        f.setattr(SetAttr {
            size: Some(3),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(read_all(&f), [0, 0, 0]);
        // A directory keeps its set-group-ID bit on chown.
        root.setattr(SetAttr {
            mode: Some(0o2755),
            gid: Some(3),
            ..Default::default()
        })
        .unwrap();
        root.setattr(SetAttr {
            gid: Some(4),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(root.stat().unwrap().mode, libc::S_IFDIR | 0o2755);
    }

    #[test]
    fn exchange_swaps_entries_and_directory_links() {
        let root = new_fs();
        root.mkdir(b"p", ROOT).unwrap();
        let p = root.lookup(b"p").unwrap();
        p.mkdir(b"dir", ROOT).unwrap();
        let f = write_file(&root, b"f", b"F");
        root.exchange(b"f", &p, b"dir").unwrap();
        assert!(Arc::ptr_eq(&p.lookup(b"dir").unwrap(), &f));
        assert!(root.lookup(b"f").unwrap().stat().unwrap().is_dir());
        // The directory moved from p to the root, with its ".." link.
        assert_eq!((nlink(&root), nlink(&p)), (4, 2));
        assert_eq!(root.exchange(b"f", &p, b"none").err(), Some(Errno::ENOENT));
        assert_eq!(root.exchange(b"p", &p, b"dir").err(), Some(Errno::EINVAL));
    }

    #[test]
    fn tmpfile_is_unnamed_and_linkable_once() {
        let root = new_fs();
        let t = root.create_tmpfile(ROOT, true).unwrap();
        assert_eq!(nlink(&t), 0);
        assert!(names(&root).is_empty());
        root.link(b"a", &t).unwrap();
        assert_eq!(nlink(&t), 1);
        root.unlink(b"a").unwrap();
        assert_eq!(root.link(b"b", &t).err(), Some(Errno::ENOENT));
        let excl = root.create_tmpfile(ROOT, false).unwrap();
        assert_eq!(root.link(b"c", &excl).err(), Some(Errno::ENOENT));
    }
}
