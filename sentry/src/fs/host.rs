//! Host files, served by the gofer.
//!
//! A [`HostInode`] holds one fid of a [`FileServer`]: lookups walk one
//! component, stat asks the server, and opening a file makes the server
//! donate a host fd that [`HostFile`] then reads and writes directly. The
//! server is read-only for now (the protocol has no create, unlink or
//! rename yet), so every change to the namespace or to metadata is EROFS.

use super::{open_dir_or_path, wants_write};
use crate::errno::{Errno, Result};
use crate::vfs::{CreateAttr, DirEntry, FileOps, Inode, SetAttr, Stat};
use gofer::{Fid, FileServer, ROOT_FID};
use std::any::Any;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::host_cache::LookupCache;

/// statfs(2) f_type reported for host files.
pub const EXT4_SUPER_MAGIC: u64 = 0xEF53;

/// The open flags the server accepts. O_APPEND is deliberately missing:
/// the VFS turns appends into writes at the end, and a host fd opened with
/// O_APPEND would ignore a later fcntl(F_SETFL) that clears it.
const SERVER_OPEN_FLAGS: i32 =
    libc::O_ACCMODE | libc::O_TRUNC | libc::O_DIRECTORY | libc::O_NONBLOCK | libc::O_LARGEFILE | libc::O_NOATIME;

/// A file, directory or symlink of the host, held as a gofer fid.
pub struct HostInode {
    server: Arc<dyn FileServer>,
    fid: Fid,
    /// S_IFMT bits; a host inode never changes type.
    kind: u32,
    /// The last stat the server returned.
    cached: Mutex<Stat>,
    /// Lookups and stats are cached when only the sandbox changes the tree
    /// (see `host_cache`); None asks the server every time.
    cache: Option<Arc<LookupCache>>,
    /// The cache generation `cached` was taken in.
    stat_generation: AtomicU64,
}

impl HostInode {
    /// The root directory the server serves, for a tree the host may
    /// change at any time (bind mounts): nothing is cached.
    pub fn root(server: Arc<dyn FileServer>) -> Arc<dyn Inode> {
        Self::root_with_cache(server, None)
    }

    /// The root directory the server serves, for a tree only this sandbox
    /// changes (the rootfs): lookups and stats are cached.
    pub fn root_exclusive(server: Arc<dyn FileServer>) -> Arc<dyn Inode> {
        Self::root_with_cache(server, Some(Arc::new(LookupCache::default())))
    }

    fn root_with_cache(server: Arc<dyn FileServer>, cache: Option<Arc<LookupCache>>) -> Arc<dyn Inode> {
        let stat = match server.stat(ROOT_FID) {
            Ok(st) => Stat::from(st),
            Err(e) => {
                tracing::warn!("stat of the gofer root: errno {}", e.0);
                Stat {
                    mode: libc::S_IFDIR | 0o755,
                    ..Stat::default()
                }
            }
        };
        let generation = cache.as_ref().map_or(0, |c| c.generation());
        Arc::new(HostInode::new(server, cache, ROOT_FID, stat, generation))
    }

    fn new(
        server: Arc<dyn FileServer>,
        cache: Option<Arc<LookupCache>>,
        fid: Fid,
        stat: Stat,
        generation: u64,
    ) -> HostInode {
        HostInode {
            server,
            fid,
            kind: stat.file_type(),
            cached: Mutex::new(stat),
            cache,
            stat_generation: AtomicU64::new(generation),
        }
    }

    /// A child inode from a walk or create that returned `(fid, st)` and
    /// started in cache generation `generation`.
    fn child(&self, fid: Fid, st: gofer::Stat, generation: u64) -> HostInode {
        HostInode::new(Arc::clone(&self.server), self.cache.clone(), fid, st.into(), generation)
    }

    fn generation(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.generation())
    }

    /// `other` as a host inode of the same file server: link(2) and
    /// rename(2) never cross file systems (EXDEV).
    fn same_server<'a>(&self, other: &'a Arc<dyn Inode>) -> Result<&'a HostInode> {
        match other.as_any().downcast_ref::<HostInode>() {
            Some(h) if Arc::ptr_eq(&self.server, &h.server) => Ok(h),
            _ => Err(Errno::EXDEV),
        }
    }

    /// Forgets the cached lookup of `name` here after changing it.
    fn forget(&self, name: &[u8]) {
        if let Some(cache) = &self.cache {
            cache.forget(self.fid.0, name);
        }
    }

    /// Marks every cached stat of the tree out of date.
    fn changed(&self) {
        if let Some(cache) = &self.cache {
            cache.changed();
        }
    }

    /// The stat from the last walk or stat, without asking the server.
    pub fn cached_stat(&self) -> Result<Stat> {
        Ok(*super::lock(&self.cached)?)
    }

    fn is_dir(&self) -> bool {
        self.kind == libc::S_IFDIR
    }

    fn walk(&self, name: &[u8]) -> Result<HostInode> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let generation = self.generation();
        let (fid, st) = self.server.walk(self.fid, name)?;
        Ok(self.child(fid, st, generation))
    }

    /// A walk through the cache, when there is one.
    fn cached_walk(&self, name: &[u8]) -> Result<Arc<HostInode>> {
        let Some(cache) = &self.cache else {
            return Ok(Arc::new(self.walk(name)?));
        };
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        match cache.get(self.fid.0, name) {
            Some(Some(inode)) => return Ok(inode),
            Some(None) => return Err(Errno::ENOENT),
            None => {}
        }
        match self.walk(name) {
            Ok(inode) => {
                let inode = Arc::new(inode);
                cache.put(self.fid.0, name, Some(Arc::clone(&inode)));
                Ok(inode)
            }
            Err(Errno::ENOENT) => {
                cache.put(self.fid.0, name, None);
                Err(Errno::ENOENT)
            }
            Err(e) => Err(e),
        }
    }

    fn check_dir(&self) -> Result<()> {
        if self.is_dir() {
            Ok(())
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    /// The error for creating `name` here: like Linux on a read-only
    /// mount, an existing name is EEXIST rather than EROFS (mkdir(2),
    /// open(2) O_CREAT|O_EXCL).
    fn create_error(&self, name: &[u8]) -> Errno {
        if !self.is_dir() {
            return Errno::ENOTDIR;
        }
        match self.walk(name) {
            Ok(_) => Errno::EEXIST,
            Err(_) => Errno::EROFS,
        }
    }

    /// The error for removing or renaming an entry: Linux asks for write
    /// access to the mount before looking the name up, so EROFS wins over
    /// ENOENT (unlink(2), rename(2) on a read-only filesystem).
    fn remove_error(&self) -> Errno {
        if self.is_dir() {
            Errno::EROFS
        } else {
            Errno::ENOTDIR
        }
    }
}

impl Drop for HostInode {
    fn drop(&mut self) {
        if self.fid != ROOT_FID {
            self.server.clunk(self.fid);
        }
    }
}

impl Inode for HostInode {
    fn stat(&self) -> Result<Stat> {
        let generation = self.generation();
        if self.cache.is_some() && self.stat_generation.load(Ordering::Acquire) == generation {
            return self.cached_stat();
        }
        let st = Stat::from(self.server.stat(self.fid)?);
        *super::lock(&self.cached)? = st;
        self.stat_generation.store(generation, Ordering::Release);
        Ok(st)
    }

    fn identity(&self) -> Result<(u64, u64)> {
        let st = self.cached_stat()?;
        Ok((st.dev, st.ino))
    }

    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if let Some(ops) = open_dir_or_path(flags, self.is_dir())? {
            return Ok(ops);
        }
        if self.kind == libc::S_IFLNK {
            return Err(Errno::ELOOP);
        }
        let mut host_flags = flags & SERVER_OPEN_FLAGS;
        if self.kind != libc::S_IFREG {
            // may_open ignores O_TRUNC on devices and FIFOs.
            host_flags &= !libc::O_TRUNC;
        }
        if self.server.read_only() && (wants_write(flags) || host_flags & libc::O_TRUNC != 0) {
            return Err(Errno::EROFS);
        }
        let fd = self.server.open(self.fid, host_flags)?;
        if host_flags & libc::O_TRUNC != 0 {
            self.changed();
        }
        Ok(Arc::new(HostFile {
            file: File::from(fd),
            seekable: matches!(self.kind, libc::S_IFREG | libc::S_IFBLK),
            cache: self.cache.clone(),
        }))
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        Ok(self.cached_walk(name)?)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        let entries = self.server.readdir(self.fid)?;
        Ok(entries
            .into_iter()
            .map(|e| DirEntry {
                name: e.name,
                ino: e.ino,
                kind: e.kind,
            })
            .collect())
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        if self.kind != libc::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        Ok(self.server.readlink(self.fid)?)
    }

    fn create(&self, name: &[u8], attr: CreateAttr) -> Result<Arc<dyn Inode>> {
        if self.server.read_only() {
            return Err(self.create_error(name));
        }
        self.check_dir()?;
        let generation = self.generation();
        let (fid, st) = self.server.create(self.fid, name, attr.mode, attr.uid, attr.gid)?;
        self.forget(name);
        Ok(Arc::new(self.child(fid, st, generation)))
    }
    fn mkdir(&self, name: &[u8], attr: CreateAttr) -> Result<()> {
        if self.server.read_only() {
            return Err(self.create_error(name));
        }
        self.check_dir()?;
        self.server.mkdir(self.fid, name, attr.mode, attr.uid, attr.gid)?;
        self.forget(name);
        Ok(())
    }
    /// Regular files, FIFOs and sockets; the gofer never makes a device
    /// node on the host (EPERM).
    fn mknod(&self, name: &[u8], attr: CreateAttr, _rdev: u64) -> Result<()> {
        if self.server.read_only() {
            return Err(self.create_error(name));
        }
        self.check_dir()?;
        self.server.mknod(self.fid, name, attr.mode, attr.uid, attr.gid)?;
        self.forget(name);
        Ok(())
    }
    fn symlink(&self, name: &[u8], target: &[u8], attr: CreateAttr) -> Result<()> {
        if self.server.read_only() {
            return Err(self.create_error(name));
        }
        self.check_dir()?;
        self.server.symlink(self.fid, name, target, attr.uid, attr.gid)?;
        self.forget(name);
        Ok(())
    }
    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        if self.server.read_only() {
            return Err(self.create_error(name));
        }
        self.check_dir()?;
        let target = self.same_server(target)?;
        self.server.link(target.fid, self.fid, name)?;
        self.forget(name);
        Ok(())
    }
    fn unlink(&self, name: &[u8]) -> Result<()> {
        if self.server.read_only() {
            return Err(self.remove_error());
        }
        self.check_dir()?;
        let res = self.server.unlink(self.fid, name, false);
        self.forget(name);
        Ok(res?)
    }
    fn rmdir(&self, name: &[u8]) -> Result<()> {
        if self.server.read_only() {
            return Err(self.remove_error());
        }
        self.check_dir()?;
        let res = self.server.unlink(self.fid, name, true);
        self.forget(name);
        Ok(res?)
    }
    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> Result<()> {
        if self.server.read_only() {
            return Err(self.remove_error());
        }
        self.check_dir()?;
        let target = self.same_server(new_dir)?;
        let res = self.server.rename(self.fid, name, target.fid, new_name);
        self.forget(name);
        target.forget(new_name);
        Ok(res?)
    }
    /// RENAME_EXCHANGE, done by the gofer with renameat2(2) on the host.
    fn exchange(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> Result<()> {
        if self.server.read_only() {
            return Err(self.remove_error());
        }
        self.check_dir()?;
        let target = self.same_server(new_dir)?;
        let res = self.server.exchange(self.fid, name, target.fid, new_name);
        self.forget(name);
        target.forget(new_name);
        Ok(res?)
    }
    fn setattr(&self, attr: SetAttr) -> Result<()> {
        if self.server.read_only() {
            return Err(Errno::EROFS);
        }
        let ts = |t: Option<crate::vfs::Timespec>| t.map(|t| (t.sec, t.nsec));
        let req = gofer::SetAttr {
            mode: attr.mode,
            uid: attr.uid,
            gid: attr.gid,
            size: attr.size,
            atime: ts(attr.atime),
            mtime: ts(attr.mtime),
        };
        let res = self.server.setattr(self.fid, &req);
        self.changed();
        Ok(res?)
    }

    fn fs_magic(&self) -> u64 {
        EXT4_SUPER_MAGIC
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An open host file: the fd the gofer donated. Regular files and block
/// devices use pread/pwrite at the VFS's offset; character devices and
/// FIFOs are streams.
pub struct HostFile {
    file: File,
    seekable: bool,
    /// The tree's cache, told about every write.
    cache: Option<Arc<LookupCache>>,
}

impl HostFile {
    /// A host regular file or block device handed to the sandbox as an
    /// open fd (runc's `--preserve-fds`): pread/pwrite at the VFS's
    /// offset, no gofer tree behind it.
    pub fn adopted(file: File) -> Arc<HostFile> {
        Arc::new(HostFile {
            file,
            seekable: true,
            cache: None,
        })
    }
}

impl FileOps for HostFile {
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let res = if self.seekable {
            self.file.read_at(buf, offset)
        } else {
            (&self.file).read(buf)
        };
        Ok(res?)
    }

    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        if let Some(cache) = &self.cache {
            cache.changed();
        }
        let res = if self.seekable {
            self.file.write_at(buf, offset)
        } else {
            (&self.file).write(buf)
        };
        Ok(res?)
    }

    fn seekable(&self) -> bool {
        self.seekable
    }

    fn size(&self) -> Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn fsync(&self) -> Result<()> {
        Ok(self.file.sync_all()?)
    }

    fn host_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    /// The host filesystem decides which modes it supports.
    fn fallocate(&self, mode: i32, offset: u64, len: u64) -> Result<()> {
        if let Some(cache) = &self.cache {
            cache.changed();
        }
        let offset = i64::try_from(offset).map_err(|_| Errno::EINVAL)?;
        let len = i64::try_from(len).map_err(|_| Errno::EINVAL)?;
        // SAFETY: fallocate takes no pointers; the fd is owned by `self.file`.
        let rc = unsafe { libc::fallocate(self.file.as_raw_fd(), mode, offset, len) };
        if rc < 0 {
            return Err(Errno::last());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gofer::LocalServer;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A server that counts walks and clunks of the real one.
    struct Counting {
        inner: LocalServer,
        walks: AtomicUsize,
        clunks: AtomicUsize,
    }

    impl FileServer for Counting {
        fn walk(&self, dir: Fid, name: &[u8]) -> gofer::Result<(Fid, gofer::Stat)> {
            let r = self.inner.walk(dir, name);
            if r.is_ok() {
                self.walks.fetch_add(1, Ordering::SeqCst);
            }
            r
        }
        fn stat(&self, fid: Fid) -> gofer::Result<gofer::Stat> {
            self.inner.stat(fid)
        }
        fn open(&self, fid: Fid, flags: i32) -> gofer::Result<std::os::fd::OwnedFd> {
            self.inner.open(fid, flags)
        }
        fn readdir(&self, fid: Fid) -> gofer::Result<Vec<gofer::DirEntry>> {
            self.inner.readdir(fid)
        }
        fn readlink(&self, fid: Fid) -> gofer::Result<Vec<u8>> {
            self.inner.readlink(fid)
        }
        fn clunk(&self, fid: Fid) {
            self.clunks.fetch_add(1, Ordering::SeqCst);
            self.inner.clunk(fid)
        }
        fn read_only(&self) -> bool {
            self.inner.read_only()
        }
    }

    fn host_tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), b"hello host").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/inner"), b"x").unwrap();
        std::os::unix::fs::symlink("file", dir.path().join("link")).unwrap();
        dir
    }

    fn root_of(dir: &tempfile::TempDir, read_only: bool) -> Arc<dyn Inode> {
        HostInode::root(Arc::new(LocalServer::new(dir.path(), read_only).unwrap()))
    }

    const ATTR: CreateAttr = CreateAttr {
        mode: 0o644,
        uid: 0,
        gid: 0,
    };

    #[test]
    fn lookup_stat_readdir_readlink() {
        let dir = host_tree();
        let root = root_of(&dir, true);
        assert!(root.stat().unwrap().is_dir());
        let file = root.lookup(b"file").unwrap();
        let st = file.stat().unwrap();
        assert!(st.is_regular());
        assert_eq!(st.size, 10);
        let cached = file
            .as_any()
            .downcast_ref::<HostInode>()
            .unwrap()
            .cached_stat()
            .unwrap();
        assert_eq!(cached.ino, st.ino);
        let mut names: Vec<_> = root.readdir().unwrap().into_iter().map(|e| (e.name, e.kind)).collect();
        names.sort();
        assert_eq!(
            names,
            [
                (b"file".to_vec(), libc::DT_REG),
                (b"link".to_vec(), libc::DT_LNK),
                (b"sub".to_vec(), libc::DT_DIR)
            ]
        );
        assert_eq!(root.lookup(b"link").unwrap().readlink().unwrap(), b"file");
        assert_eq!(file.readlink().err(), Some(Errno::EINVAL));
        assert_eq!(root.lookup(b"missing").err(), Some(Errno::ENOENT));
        assert_eq!(file.lookup(b"x").err(), Some(Errno::ENOTDIR));
        assert_eq!(file.readdir().err(), Some(Errno::ENOTDIR));
        assert_eq!(root.fs_magic(), EXT4_SUPER_MAGIC);
    }

    #[test]
    fn read_at_offsets_and_guest_only_flags() {
        let dir = host_tree();
        let root = root_of(&dir, true);
        let file = root.lookup(b"file").unwrap();
        let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_CREAT | libc::O_APPEND;
        let ops = file.open(flags).unwrap();
        assert!(ops.seekable());
        assert_eq!(ops.size().unwrap(), 10);
        assert!(ops.host_fd().is_some());
        let mut buf = [0u8; 4];
        assert_eq!(ops.read(&mut buf, 6).unwrap(), 4);
        assert_eq!(&buf, b"host");
        assert_eq!(ops.read(&mut buf, 0).unwrap(), 4);
        assert_eq!(&buf, b"hell");
        assert_eq!(ops.read(&mut buf, 100).unwrap(), 0);
        ops.fsync().unwrap();
    }

    #[test]
    fn read_only_server_refuses_every_change() {
        let dir = host_tree();
        let root = root_of(&dir, true);
        let file = root.lookup(b"file").unwrap();
        assert_eq!(file.open(libc::O_WRONLY).err(), Some(Errno::EROFS));
        assert_eq!(file.open(libc::O_RDWR).err(), Some(Errno::EROFS));
        assert_eq!(file.open(libc::O_RDONLY | libc::O_TRUNC).err(), Some(Errno::EROFS));
        assert_eq!(root.create(b"new", ATTR).err(), Some(Errno::EROFS));
        assert_eq!(root.mkdir(b"new", ATTR).err(), Some(Errno::EROFS));
        assert_eq!(root.symlink(b"new", b"t", ATTR).err(), Some(Errno::EROFS));
        assert_eq!(root.mknod(b"new", ATTR, 0).err(), Some(Errno::EROFS));
        assert_eq!(root.link(b"new", &file).err(), Some(Errno::EROFS));
        assert_eq!(root.mkdir(b"sub", ATTR).err(), Some(Errno::EEXIST));
        assert_eq!(root.unlink(b"file").err(), Some(Errno::EROFS));
        assert_eq!(root.unlink(b"missing").err(), Some(Errno::EROFS));
        assert_eq!(root.rmdir(b"sub").err(), Some(Errno::EROFS));
        assert_eq!(root.rename(b"file", &root, b"f2").err(), Some(Errno::EROFS));
        assert_eq!(file.setattr(SetAttr::default()).err(), Some(Errno::EROFS));
        assert_eq!(file.mkdir(b"x", ATTR).err(), Some(Errno::ENOTDIR));
        assert_eq!(std::fs::read(dir.path().join("file")).unwrap(), b"hello host");
    }

    #[test]
    fn directories_and_symlinks_open_rules() {
        let dir = host_tree();
        let root = root_of(&dir, true);
        let sub = root.lookup(b"sub").unwrap();
        let ops = sub.open(libc::O_RDONLY | libc::O_DIRECTORY).unwrap();
        assert_eq!(ops.read(&mut [0u8; 8], 0).err(), Some(Errno::EISDIR));
        assert_eq!(sub.open(libc::O_WRONLY).err(), Some(Errno::EISDIR));
        let link = root.lookup(b"link").unwrap();
        assert_eq!(link.open(libc::O_RDONLY).err(), Some(Errno::ELOOP));
        assert!(link.open(libc::O_PATH | libc::O_NOFOLLOW).is_ok());
        let file = root.lookup(b"file").unwrap();
        assert_eq!(
            file.open(libc::O_RDONLY | libc::O_DIRECTORY).err(),
            Some(Errno::ENOTDIR)
        );
    }

    #[test]
    fn writable_server_writes_at_offsets() {
        let dir = host_tree();
        let root = root_of(&dir, false);
        let file = root.lookup(b"file").unwrap();
        let ops = file.open(libc::O_RDWR).unwrap();
        assert_eq!(ops.write(b"HOST", 6).unwrap(), 4);
        assert_eq!(ops.write(b"!", 12).unwrap(), 1);
        assert_eq!(ops.size().unwrap(), 13);
        assert_eq!(std::fs::read(dir.path().join("file")).unwrap(), b"hello HOST\0\0!");
        file.open(libc::O_WRONLY | libc::O_TRUNC).unwrap();
        assert_eq!(file.stat().unwrap().size, 0);
        // A writable server creates on the host; an existing name is EEXIST.
        root.create(b"new", ATTR).unwrap();
        assert!(dir.path().join("new").exists());
        assert_eq!(root.create(b"new", ATTR).err(), Some(Errno::EEXIST));
    }

    #[test]
    fn fifos_are_streams() {
        let dir = host_tree();
        let path = std::ffi::CString::new(dir.path().join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: `path` is a valid NUL-terminated string.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let root = root_of(&dir, false);
        let fifo = root.lookup(b"fifo").unwrap();
        // O_RDWR on a FIFO does not wait for a peer on Linux (fifo(7)).
        let ops = fifo.open(libc::O_RDWR | libc::O_NONBLOCK | libc::O_TRUNC).unwrap();
        assert!(!ops.seekable());
        assert_eq!(ops.write(b"abc", 1000).unwrap(), 3);
        let mut buf = [0u8; 8];
        assert_eq!(ops.read(&mut buf, 1000).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
    }

    #[test]
    fn fids_are_clunked_on_drop() {
        let dir = host_tree();
        let server = Arc::new(Counting {
            inner: LocalServer::new(dir.path(), true).unwrap(),
            walks: AtomicUsize::new(0),
            clunks: AtomicUsize::new(0),
        });
        let root = HostInode::root(server.clone());
        let sub = root.lookup(b"sub").unwrap();
        let inner = sub.lookup(b"inner").unwrap();
        let _ = root.mkdir(b"file", ATTR);
        assert_eq!(server.walks.load(Ordering::SeqCst), 3);
        assert_eq!(server.clunks.load(Ordering::SeqCst), 1, "the existence probe");
        drop((sub, inner));
        assert_eq!(server.clunks.load(Ordering::SeqCst), 3);
        drop(root);
        assert_eq!(server.clunks.load(Ordering::SeqCst), 3, "the root fid stays");
    }

    #[test]
    fn exchange_swaps_host_entries() {
        let dir = host_tree();
        let root = root_of(&dir, false);
        let sub = root.lookup(b"sub").unwrap();
        root.exchange(b"file", &sub, b"inner").unwrap();
        assert_eq!(std::fs::read(dir.path().join("file")).unwrap(), b"x");
        assert_eq!(std::fs::read(dir.path().join("sub/inner")).unwrap(), b"hello host");
        assert_eq!(root.lookup(b"file").unwrap().stat().unwrap().size, 1);
        assert_eq!(root.exchange(b"file", &sub, b"none").err(), Some(Errno::ENOENT));
        let ro = root_of(&dir, true);
        assert_eq!(ro.exchange(b"file", &ro, b"link").err(), Some(Errno::EROFS));
    }
}
