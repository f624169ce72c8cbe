//! Overlay: a writable upper layer (a tmpfs) over a read-only lower layer
//! (the host, through the gofer), after Linux's overlayfs
//! (Documentation/filesystems/overlayfs.rst). This is the default root of
//! `runsc do`: the guest may change anything, the host never changes.
//!
//! - Lookups merge the layers: an upper entry wins; a directory present in
//!   both is merged; a *whiteout* hides a lower name that was removed.
//!   Whiteouts live in the overlay's own state (keyed by directory), never
//!   in the upper layer, so the guest cannot see them.
//! - Unmodified lower files are read through the lower layer's own
//!   [`FileOps`] (a host fd), so they cost nothing.
//! - Changing a lower file (write open, O_TRUNC, setattr, link, rename)
//!   first *copies it up*: content, mode, owner and times go to the upper
//!   layer, creating its parent directories there as needed.
//! - st_dev is the overlay's own; st_ino is the lower inode number for
//!   anything that came from the lower layer (kept across copy-up and
//!   rename) and a tagged upper inode number otherwise, so the two never
//!   collide (like overlayfs's "xino").
//!
//! Locking: every change (including copy-up) runs under the overlay's `ns`
//! lock; the other locks are held only briefly and never while calling
//! into a layer, except that layers are called with `ns` held.

use super::{alloc_anon_dev, lock, open_dir_or_path, wants_write};
use crate::errno::{Errno, Result};
use crate::vfs::{CreateAttr, DirEntry, FileOps, Inode, SetAttr, Stat};
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// statfs(2) f_type of an overlay.
pub const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;
/// Set in the inode number of files that exist only in the upper layer.
const UPPER_INO_TAG: u64 = 1 << 62;
/// Marks a [`DirKey`] of a directory that exists only in the upper layer.
const UPPER_ONLY: u64 = u64::MAX;
/// Bytes copied per read/write during copy-up.
const COPY_CHUNK: usize = 128 * 1024;
/// The children cache is swept of dead entries when it reaches a multiple
/// of this size.
const SWEEP_EVERY: usize = 64;

/// Identity of a directory for whiteouts: the (st_dev, st_ino) of its lower
/// directory, or ([`UPPER_ONLY`], upper st_ino).
type DirKey = (u64, u64);

/// Proof that the overlay's namespace lock is held.
type NsGuard<'a> = MutexGuard<'a, ()>;

/// Constructor for overlays.
pub struct Overlay;

impl Overlay {
    /// An overlay of `upper` (writable, normally an empty tmpfs) over
    /// `lower` (never written); returns its root directory. A fresh upper
    /// root takes the lower root's mode, owner and times.
    // The constructor returns the root inode, not a `Self`: these types
    // only name the filesystem.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(lower: Arc<dyn Inode>, upper: Arc<dyn Inode>) -> Arc<dyn Inode> {
        let fs = Arc::new(OvlFs {
            dev: alloc_anon_dev(),
            ns: Mutex::new(()),
            state: Mutex::new(OvlState::default()),
            generation: AtomicU64::new(0),
        });
        let lower = match Layer::with_stat(lower) {
            Ok((layer, st)) => {
                adopt_root_metadata(&st, &upper);
                Some(layer)
            }
            Err(e) => {
                tracing::warn!("overlay lower root unusable, upper only: {e}");
                None
            }
        };
        let upper = Layer::with_stat(Arc::clone(&upper)).map_or(
            Layer {
                inode: upper,
                dev: 0,
                ino: 0,
            },
            |(layer, _)| layer,
        );
        OverlayInode::new(&fs, libc::S_IFDIR, None, lower, Some(upper))
    }
}

/// Gives an empty upper root the lower root's metadata.
fn adopt_root_metadata(lower: &Stat, upper: &Arc<dyn Inode>) {
    if !upper.readdir().is_ok_and(|e| e.is_empty()) {
        return;
    }
    let attr = SetAttr {
        mode: Some(lower.mode & 0o7777),
        uid: Some(lower.uid),
        gid: Some(lower.gid),
        size: None,
        atime: Some(lower.atime),
        mtime: Some(lower.mtime),
    };
    if let Err(e) = upper.setattr(attr) {
        tracing::warn!("overlay upper root metadata: {e}");
    }
}

struct OvlFs {
    dev: u64,
    /// Serializes namespace changes and copy-ups.
    ns: Mutex<()>,
    state: Mutex<OvlState>,
    /// Bumped by every removal or rename, so a lookup that raced with one
    /// does not cache what it built from the old state.
    generation: AtomicU64,
}

#[derive(Default)]
struct OvlState {
    /// Lower names removed from the merged view, per directory.
    whiteouts: HashMap<DirKey, HashSet<Vec<u8>>>,
    /// Lower inode number of each copied-up file, by upper inode number,
    /// so st_ino survives copy-up, rename and hard links.
    origin: HashMap<u64, u64>,
}

impl OvlState {
    fn ino_of_upper(&self, upper_ino: u64) -> u64 {
        self.origin
            .get(&upper_ino)
            .copied()
            .unwrap_or(upper_ino | UPPER_INO_TAG)
    }
}

/// An inode of one layer, with its identity.
#[derive(Clone)]
struct Layer {
    inode: Arc<dyn Inode>,
    dev: u64,
    ino: u64,
}

impl Layer {
    fn with_stat(inode: Arc<dyn Inode>) -> Result<(Layer, Stat)> {
        let st = inode.stat()?;
        Ok((
            Layer {
                inode,
                dev: st.dev,
                ino: st.ino,
            },
            st,
        ))
    }
}

/// ENOENT as `None`.
fn absent_ok<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e == Errno::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// A file or directory of an overlay.
pub struct OverlayInode {
    fs: Arc<OvlFs>,
    me: Weak<OverlayInode>,
    /// S_IFMT bits.
    kind: u32,
    /// The directory holding this entry and its name there (none for the
    /// root); copy-up recreates this path in the upper layer.
    parent: Mutex<Option<(Arc<OverlayInode>, Vec<u8>)>>,
    /// The lower inode: for a directory, the lower directory merged into
    /// it; for anything else, the file it was (or will be) copied up from.
    lower: Option<Layer>,
    /// The upper inode, once there is one.
    upper: Mutex<Option<Layer>>,
    /// Live inodes of this directory's entries, so that every lookup of a
    /// name shares one inode (and sees its copy-up).
    children: Mutex<HashMap<Vec<u8>, Weak<OverlayInode>>>,
    /// Set when the entry is unlinked or removed.
    removed: AtomicBool,
}

impl OverlayInode {
    fn new(
        fs: &Arc<OvlFs>,
        kind: u32,
        parent: Option<(Arc<OverlayInode>, Vec<u8>)>,
        lower: Option<Layer>,
        upper: Option<Layer>,
    ) -> Arc<OverlayInode> {
        Arc::new_cyclic(|me| OverlayInode {
            fs: Arc::clone(fs),
            me: me.clone(),
            kind,
            parent: Mutex::new(parent),
            lower,
            upper: Mutex::new(upper),
            children: Mutex::new(HashMap::new()),
            removed: AtomicBool::new(false),
        })
    }

    fn arc(&self) -> Result<Arc<OverlayInode>> {
        self.me.upgrade().ok_or(Errno::EIO)
    }

    fn is_dir(&self) -> bool {
        self.kind == libc::S_IFDIR
    }

    fn upper(&self) -> Result<Option<Layer>> {
        Ok(lock(&self.upper)?.clone())
    }

    fn upper_inode(&self) -> Result<Option<Arc<dyn Inode>>> {
        Ok(self.upper()?.map(|l| l.inode))
    }

    /// The layer answering reads: the upper if any, else the lower.
    fn current(&self) -> Result<Arc<dyn Inode>> {
        match (self.upper_inode()?, &self.lower) {
            (Some(u), _) => Ok(u),
            (None, Some(l)) => Ok(Arc::clone(&l.inode)),
            (None, None) => Err(Errno::EIO),
        }
    }

    /// ENOTDIR for a non-directory, ENOENT for a removed directory.
    fn live_dir(&self) -> Result<()> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.removed.load(Ordering::Acquire) {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    fn same_fs(&self, other: &Arc<dyn Inode>) -> Result<Arc<OverlayInode>> {
        match other.as_any().downcast_ref::<OverlayInode>() {
            Some(o) if Arc::ptr_eq(&o.fs, &self.fs) => o.arc(),
            _ => Err(Errno::EXDEV),
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, OvlState>> {
        lock(&self.fs.state)
    }

    fn key(&self) -> Result<DirKey> {
        if let Some(l) = &self.lower {
            return Ok((l.dev, l.ino));
        }
        let upper = self.upper()?.ok_or(Errno::EIO)?;
        Ok((UPPER_ONLY, upper.ino))
    }

    /// The st_ino the guest sees.
    fn ino(&self) -> Result<u64> {
        if let Some(l) = &self.lower {
            return Ok(l.ino);
        }
        let upper = self.upper()?.ok_or(Errno::EIO)?;
        Ok(self.state()?.ino_of_upper(upper.ino))
    }

    fn whited_out(&self, name: &[u8]) -> Result<bool> {
        if self.lower.is_none() {
            return Ok(false);
        }
        let key = self.key()?;
        Ok(self.state()?.whiteouts.get(&key).is_some_and(|w| w.contains(name)))
    }

    fn add_whiteout(&self, name: &[u8]) -> Result<()> {
        let key = self.key()?;
        self.state()?.whiteouts.entry(key).or_default().insert(name.to_vec());
        Ok(())
    }

    /// The visible entry `name` of the lower directory, if any.
    fn lower_child(&self, name: &[u8]) -> Result<Option<Arc<dyn Inode>>> {
        let Some(lower) = &self.lower else {
            return Ok(None);
        };
        if self.whited_out(name)? {
            return Ok(None);
        }
        absent_ok(lower.inode.lookup(name))
    }

    /// The merged entry `name`, shared with earlier lookups while alive.
    fn lookup_child(&self, name: &[u8]) -> Result<Arc<OverlayInode>> {
        self.live_dir()?;
        if let Some(child) = lock(&self.children)?.get(name).and_then(Weak::upgrade) {
            return Ok(child);
        }
        let generation = self.fs.generation.load(Ordering::SeqCst);
        let child = self.build_child(name)?;
        let mut children = lock(&self.children)?;
        if let Some(raced) = children.get(name).and_then(Weak::upgrade) {
            return Ok(raced);
        }
        if self.fs.generation.load(Ordering::SeqCst) != generation {
            // A removal or rename ran meanwhile: answer, but do not cache.
            return Ok(child);
        }
        if children.len() % SWEEP_EVERY == SWEEP_EVERY - 1 {
            children.retain(|_, w| w.strong_count() > 0);
        }
        children.insert(name.to_vec(), Arc::downgrade(&child));
        Ok(child)
    }

    /// Merges the layers' entries `name`: an upper non-directory hides the
    /// lower entry; an upper directory merges with a lower directory (not
    /// with anything else); a whiteout hides the lower entry.
    fn build_child(&self, name: &[u8]) -> Result<Arc<OverlayInode>> {
        let upper = match self.upper_inode()? {
            Some(dir) => absent_ok(dir.lookup(name))?,
            None => None,
        };
        let upper = upper.map(Layer::with_stat).transpose()?;
        let upper_is_dir = upper.as_ref().map(|(_, st)| st.is_dir());
        let lower = match upper_is_dir {
            Some(false) => None,
            _ => self.lower_child(name)?,
        };
        let lower = lower
            .map(Layer::with_stat)
            .transpose()?
            .filter(|(_, st)| upper_is_dir.is_none() || st.is_dir());
        let kind = match (&upper, &lower) {
            (Some((_, st)), _) | (None, Some((_, st))) => st.file_type(),
            (None, None) => return Err(Errno::ENOENT),
        };
        let parent = Some((self.arc()?, name.to_vec()));
        Ok(OverlayInode::new(
            &self.fs,
            kind,
            parent,
            lower.map(|l| l.0),
            upper.map(|u| u.0),
        ))
    }

    /// The upper inode, copying this entry (and its parent directories) up
    /// first; `with_data` false skips the content (it is about to be
    /// truncated away). `ns` proves the namespace lock is held.
    #[allow(clippy::only_used_in_recursion)]
    fn copy_up(&self, ns: &NsGuard<'_>, with_data: bool) -> Result<Arc<dyn Inode>> {
        if let Some(upper) = self.upper_inode()? {
            return Ok(upper);
        }
        if self.removed.load(Ordering::Acquire) {
            return Err(Errno::ENOENT);
        }
        let lower = self.lower.as_ref().ok_or(Errno::EIO)?;
        let (parent, name) = lock(&self.parent)?.clone().ok_or(Errno::EIO)?;
        let dir = parent.copy_up(ns, true)?;
        let upper = match self.copied_by_other(&dir, &name)? {
            Some(upper) => upper,
            None => self.copy_up_into(&dir, &name, lower, with_data)?,
        };
        let (layer, _) = Layer::with_stat(upper)?;
        if !self.is_dir() {
            self.state()?.origin.insert(layer.ino, lower.ino);
        }
        *lock(&self.upper)? = Some(layer.clone());
        Ok(layer.inode)
    }

    /// The upper entry another inode of this same file (built by a lookup
    /// that raced with a rename or removal) already copied up, if any.
    fn copied_by_other(&self, dir: &Arc<dyn Inode>, name: &[u8]) -> Result<Option<Arc<dyn Inode>>> {
        let Some(existing) = absent_ok(dir.lookup(name))? else {
            return Ok(None);
        };
        if existing.stat()?.file_type() != self.kind {
            return Err(Errno::ESTALE);
        }
        Ok(Some(existing))
    }

    /// Copies the lower inode to `name` in the upper directory `dir`.
    fn copy_up_into(
        &self,
        dir: &Arc<dyn Inode>,
        name: &[u8],
        lower: &Layer,
        with_data: bool,
    ) -> Result<Arc<dyn Inode>> {
        let dir_before = dir.stat()?;
        let st = lower.inode.stat()?;
        let upper = copy_node(&lower.inode, &st, dir, name, with_data)?;
        // Copy-up is invisible: the parent keeps its times, as overlayfs
        // does.
        dir.setattr(SetAttr {
            atime: Some(dir_before.atime),
            mtime: Some(dir_before.mtime),
            ..SetAttr::default()
        })?;
        Ok(upper)
    }

    fn bump_generation(&self) {
        self.fs.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// EEXIST when `name` is in the merged directory.
    fn check_free(&self, name: &[u8]) -> Result<()> {
        self.live_dir()?;
        match absent_ok(self.lookup_child(name))? {
            Some(_) => Err(Errno::EEXIST),
            None => Ok(()),
        }
    }

    /// The upper directory to create `name` in, after checking the name is
    /// free.
    fn prepare_create(&self, ns: &NsGuard<'_>, name: &[u8]) -> Result<Arc<dyn Inode>> {
        self.check_free(name)?;
        self.copy_up(ns, true)
    }

    /// Removes the entry `name` (the inode `child`): from the upper layer
    /// if it is there, and from the lower by a whiteout.
    fn remove_child(&self, ns: &NsGuard<'_>, name: &[u8], child: &OverlayInode) -> Result<()> {
        let dir = self.copy_up(ns, true)?;
        let in_lower = self.lower_child(name)?.is_some();
        if child.upper()?.is_some() {
            if child.is_dir() {
                dir.rmdir(name)?;
            } else {
                dir.unlink(name)?;
            }
        }
        if in_lower {
            self.add_whiteout(name)?;
        }
        child.forget()?;
        self.bump_generation();
        lock(&self.children)?.remove(name);
        Ok(())
    }

    /// Marks a removed entry; a directory's whiteouts go with it.
    fn forget(&self) -> Result<()> {
        self.removed.store(true, Ordering::Release);
        if self.is_dir() {
            let key = self.key()?;
            self.state()?.whiteouts.remove(&key);
        }
        Ok(())
    }

    fn is_empty_dir(&self) -> Result<bool> {
        Ok(self.readdir()?.is_empty())
    }

    /// True when both are the same file: the same upper inode, or the same
    /// lower inode not copied up (a copy-up breaks lower hard links).
    fn same_file(&self, other: &OverlayInode) -> Result<bool> {
        if std::ptr::eq(self, other) {
            return Ok(true);
        }
        let same = |a: &Layer, b: &Layer| (a.dev, a.ino) == (b.dev, b.ino);
        Ok(match (self.upper()?, other.upper()?) {
            (Some(a), Some(b)) => same(&a, &b),
            (None, None) => match (&self.lower, &other.lower) {
                (Some(a), Some(b)) => same(a, b),
                _ => false,
            },
            _ => false,
        })
    }

    /// The checks of rename(2), in Linux's order (the VFS's before
    /// overlayfs's). `Ok(false)`: source and target are the same file,
    /// nothing to do.
    fn check_rename(src: &OverlayInode, dst: Option<&Arc<OverlayInode>>) -> Result<bool> {
        if let Some(dst) = dst {
            if src.same_file(dst)? {
                return Ok(false);
            }
            match (src.is_dir(), dst.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                _ => {}
            }
        }
        if src.is_dir() && src.lower.is_some() {
            return Err(Errno::EXDEV);
        }
        match dst {
            Some(dst) if dst.is_dir() && !dst.is_empty_dir()? => Err(Errno::ENOTEMPTY),
            _ => Ok(true),
        }
    }

    /// Renames in the upper layer once everything is copied up, then fixes
    /// whiteouts and the children caches.
    fn rename_commit(
        &self,
        ns: &NsGuard<'_>,
        (name, src): (&[u8], &Arc<OverlayInode>),
        (new_dir, new_name, dst): (&Arc<OverlayInode>, &[u8], Option<Arc<OverlayInode>>),
    ) -> Result<()> {
        src.copy_up(ns, true)?;
        let from = self.copy_up(ns, true)?;
        let to = new_dir.copy_up(ns, true)?;
        let old_in_lower = self.lower_child(name)?.is_some();
        let new_in_lower = new_dir.lower_child(new_name)?.is_some();
        from.rename(name, &to, new_name)?;
        if old_in_lower {
            self.add_whiteout(name)?;
        }
        if new_in_lower {
            new_dir.add_whiteout(new_name)?;
        }
        if let Some(dst) = dst {
            dst.forget()?;
        }
        self.bump_generation();
        lock(&self.children)?.remove(name);
        lock(&new_dir.children)?.insert(new_name.to_vec(), Arc::downgrade(src));
        *lock(&src.parent)? = Some((Arc::clone(new_dir), new_name.to_vec()));
        Ok(())
    }

    /// The merged listing: upper entries, then the lower entries they do
    /// not hide and no whiteout removed.
    fn merged_entries(&self) -> Result<Vec<DirEntry>> {
        let upper = match self.upper_inode()? {
            Some(u) => u.readdir()?,
            None => Vec::new(),
        };
        let lower = match &self.lower {
            Some(l) => l.inode.readdir()?,
            None => Vec::new(),
        };
        let key = if self.lower.is_some() { Some(self.key()?) } else { None };
        let state = self.state()?;
        let whiteouts = key.and_then(|k| state.whiteouts.get(&k));
        let visible: HashMap<&[u8], &DirEntry> = lower
            .iter()
            .filter(|e| !whiteouts.is_some_and(|w| w.contains(&e.name)))
            .map(|e| (e.name.as_slice(), e))
            .collect();
        let mut out = Vec::with_capacity(upper.len() + visible.len());
        for e in &upper {
            let ino = match visible.get(e.name.as_slice()) {
                Some(l) if e.kind == libc::DT_DIR && l.kind == libc::DT_DIR => l.ino,
                _ => state.ino_of_upper(e.ino),
            };
            out.push(DirEntry { ino, ..e.clone() });
        }
        let in_upper: HashSet<&[u8]> = upper.iter().map(|e| e.name.as_slice()).collect();
        out.extend(
            lower
                .iter()
                .filter(|e| visible.contains_key(e.name.as_slice()) && !in_upper.contains(e.name.as_slice()))
                .cloned(),
        );
        Ok(out)
    }
}

/// Creates `name` in the upper directory `dir` as a copy of the lower
/// inode `lower` (whose stat is `st`); removes it again on failure.
fn copy_node(
    lower: &Arc<dyn Inode>,
    st: &Stat,
    dir: &Arc<dyn Inode>,
    name: &[u8],
    with_data: bool,
) -> Result<Arc<dyn Inode>> {
    let attr = CreateAttr {
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
    };
    let upper = match st.file_type() {
        libc::S_IFREG => dir.create(name, attr)?,
        libc::S_IFDIR => {
            dir.mkdir(name, attr)?;
            dir.lookup(name)?
        }
        libc::S_IFLNK => {
            dir.symlink(name, &lower.readlink()?, attr)?;
            dir.lookup(name)?
        }
        kind => {
            let attr = CreateAttr {
                mode: kind | attr.mode,
                ..attr
            };
            dir.mknod(name, attr, st.rdev)?;
            dir.lookup(name)?
        }
    };
    let filled = if with_data && st.is_regular() {
        copy_data(lower, &upper)
    } else {
        Ok(())
    };
    // Creation may have masked mode bits or inherited a group: make the
    // copy exact, times last (the data copy moved mtime).
    let exact = filled.and_then(|()| {
        upper.setattr(SetAttr {
            mode: (!st.is_symlink()).then_some(st.mode & 0o7777),
            uid: Some(st.uid),
            gid: Some(st.gid),
            size: None,
            atime: Some(st.atime),
            mtime: Some(st.mtime),
        })
    });
    if let Err(e) = exact {
        // Best effort: the copy-up's own error is what the guest sees.
        let _ = if st.is_dir() { dir.rmdir(name) } else { dir.unlink(name) };
        return Err(e);
    }
    Ok(upper)
}

/// Copies the content of regular file `from` into the empty `to`.
fn copy_data(from: &Arc<dyn Inode>, to: &Arc<dyn Inode>) -> Result<()> {
    let src = from.open(libc::O_RDONLY)?;
    let dst = to.open(libc::O_WRONLY)?;
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut offset = 0u64;
    loop {
        let n = src.read(&mut buf, offset)?;
        if n == 0 {
            return Ok(());
        }
        let mut done = 0;
        while done < n {
            let written = dst.write(&buf[done..n], offset + done as u64)?;
            if written == 0 {
                return Err(Errno::ENOSPC);
            }
            done += written;
        }
        offset += n as u64;
    }
}

impl Inode for OverlayInode {
    /// The upper's metadata once copied up, else the lower's; st_dev and
    /// st_ino as the module documentation says.
    fn stat(&self) -> Result<Stat> {
        let upper = self.upper_inode()?;
        let merged = upper.is_some() && self.lower.is_some();
        let mut st = self.current()?.stat()?;
        st.dev = self.fs.dev;
        st.ino = self.ino()?;
        // overlayfs reports 1 link for a merged directory rather than
        // counting the subdirectories of both layers; find(1) and fts read
        // 1 as "unknown" (fs/overlayfs/inode.c, ovl_getattr).
        if self.is_dir() && merged {
            st.nlink = 1;
        }
        Ok(st)
    }

    fn identity(&self) -> Result<(u64, u64)> {
        Ok((self.fs.dev, self.ino()?))
    }

    /// Write opens and O_TRUNC of a regular file copy it up first (without
    /// its data when O_TRUNC would drop it anyway); other opens go to the
    /// layer in front. Special files are opened in place.
    fn open(&self, flags: i32) -> Result<Arc<dyn FileOps>> {
        if let Some(ops) = open_dir_or_path(flags, self.is_dir())? {
            return Ok(ops);
        }
        let truncate = flags & libc::O_TRUNC != 0;
        if self.kind == libc::S_IFREG && (wants_write(flags) || truncate) {
            let ns = lock(&self.fs.ns)?;
            let upper = self.copy_up(&ns, !truncate)?;
            drop(ns);
            return upper.open(flags);
        }
        self.current()?.open(flags)
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        Ok(self.lookup_child(name)?)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.removed.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        self.merged_entries()
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        self.current()?.readlink()
    }

    fn create(&self, name: &[u8], attr: CreateAttr) -> Result<Arc<dyn Inode>> {
        let ns = lock(&self.fs.ns)?;
        let dir = self.prepare_create(&ns, name)?;
        let (upper, st) = Layer::with_stat(dir.create(name, attr)?)?;
        let parent = Some((self.arc()?, name.to_vec()));
        let child = OverlayInode::new(&self.fs, st.file_type(), parent, None, Some(upper));
        lock(&self.children)?.insert(name.to_vec(), Arc::downgrade(&child));
        Ok(child)
    }

    /// O_TMPFILE: the unnamed file lives in the upper layer, under this
    /// directory copied up.
    fn create_tmpfile(&self, attr: CreateAttr, linkable: bool) -> Result<Arc<dyn Inode>> {
        let ns = lock(&self.fs.ns)?;
        self.live_dir()?;
        let dir = self.copy_up(&ns, true)?;
        let (upper, st) = Layer::with_stat(dir.create_tmpfile(attr, linkable)?)?;
        Ok(OverlayInode::new(&self.fs, st.file_type(), None, None, Some(upper)))
    }

    fn mkdir(&self, name: &[u8], attr: CreateAttr) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        self.prepare_create(&ns, name)?.mkdir(name, attr)
    }

    fn mknod(&self, name: &[u8], attr: CreateAttr, rdev: u64) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        self.prepare_create(&ns, name)?.mknod(name, attr, rdev)
    }

    fn symlink(&self, name: &[u8], target: &[u8], attr: CreateAttr) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        self.prepare_create(&ns, name)?.symlink(name, target, attr)
    }

    /// Copies the target up and links it in the upper layer. Like
    /// overlayfs without its "index" feature, this breaks the target's
    /// hard links to other lower names.
    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        let target = self.same_fs(target)?;
        let ns = lock(&self.fs.ns)?;
        self.check_free(name)?;
        if target.is_dir() {
            return Err(Errno::EPERM);
        }
        let upper_target = target.copy_up(&ns, true)?;
        self.copy_up(&ns, true)?.link(name, &upper_target)
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        let child = self.lookup_child(name)?;
        if child.is_dir() {
            return Err(Errno::EISDIR);
        }
        self.remove_child(&ns, name, &child)
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        let child = self.lookup_child(name)?;
        if !child.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !child.is_empty_dir()? {
            return Err(Errno::ENOTEMPTY);
        }
        self.remove_child(&ns, name, &child)
    }

    /// Regular files, symlinks and special files are copied up and renamed
    /// in the upper layer, with a whiteout over the old lower name. A
    /// directory with lower content gives EXDEV, as overlayfs does without
    /// "redirect_dir" (overlayfs.rst, "Renaming directories"); mv(1) then
    /// copies and deletes. Directories only in the upper layer move freely.
    fn rename(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> Result<()> {
        let new_dir = self.same_fs(new_dir)?;
        let ns = lock(&self.fs.ns)?;
        new_dir.live_dir()?;
        let src = self.lookup_child(name)?;
        if std::ptr::eq(self, Arc::as_ptr(&new_dir)) && name == new_name {
            return Ok(());
        }
        let dst = absent_ok(new_dir.lookup_child(new_name))?;
        if !OverlayInode::check_rename(&src, dst.as_ref())? {
            return Ok(());
        }
        self.rename_commit(&ns, (name, &src), (&new_dir, new_name, dst))
    }

    /// RENAME_EXCHANGE: both entries are copied up and swapped in the
    /// upper layer, where they then hide whatever the lower has under
    /// either name. A merged directory cannot move (EXDEV, as rename).
    fn exchange(&self, name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8]) -> Result<()> {
        let new_dir = self.same_fs(new_dir)?;
        let ns = lock(&self.fs.ns)?;
        self.live_dir()?;
        new_dir.live_dir()?;
        let a = self.lookup_child(name)?;
        let b = new_dir.lookup_child(new_name)?;
        if a.same_file(&b)? {
            return Ok(());
        }
        if (a.is_dir() && a.lower.is_some()) || (b.is_dir() && b.lower.is_some()) {
            return Err(Errno::EXDEV);
        }
        a.copy_up(&ns, true)?;
        b.copy_up(&ns, true)?;
        let from = self.copy_up(&ns, true)?;
        let to = new_dir.copy_up(&ns, true)?;
        from.exchange(name, &to, new_name)?;
        self.bump_generation();
        lock(&self.children)?.insert(name.to_vec(), Arc::downgrade(&b));
        lock(&new_dir.children)?.insert(new_name.to_vec(), Arc::downgrade(&a));
        *lock(&a.parent)? = Some((Arc::clone(&new_dir), new_name.to_vec()));
        *lock(&b.parent)? = Some((self.arc()?, name.to_vec()));
        Ok(())
    }

    fn setattr(&self, attr: SetAttr) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        let upper = self.copy_up(&ns, attr.size != Some(0))?;
        drop(ns);
        upper.setattr(attr)
    }

    /// Attributes are read from the layer that answers reads; a lower
    /// file's are the lower filesystem's (none, through the gofer).
    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        self.current()?.getxattr(name)
    }

    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        self.current()?.listxattr()
    }

    /// Changes go to the upper layer, copying a lower file up first.
    fn setxattr(&self, name: &[u8], value: &[u8], flags: i32) -> Result<()> {
        let ns = lock(&self.fs.ns)?;
        let upper = self.copy_up(&ns, true)?;
        drop(ns);
        upper.setxattr(name, value, flags)
    }

    fn removexattr(&self, name: &[u8]) -> Result<()> {
        if self.upper()?.is_none() {
            // Nothing of a lower file's is stored: nothing to remove, and
            // no reason to copy it up.
            self.current()?.getxattr(name)?;
        }
        let ns = lock(&self.fs.ns)?;
        let upper = self.copy_up(&ns, true)?;
        drop(ns);
        upper.removexattr(name)
    }

    fn fs_magic(&self) -> u64 {
        OVERLAYFS_SUPER_MAGIC
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::host::HostInode;
    use crate::fs::tmpfs::Tmpfs;
    use crate::vfs::Timespec;
    use gofer::LocalServer;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    const ATTR: CreateAttr = CreateAttr {
        mode: 0o644,
        uid: 0,
        gid: 0,
    };

    struct Fixture {
        host: tempfile::TempDir,
        upper: Arc<dyn Inode>,
        root: Arc<dyn Inode>,
    }

    impl Fixture {
        fn host(&self, rel: &str) -> std::path::PathBuf {
            self.host.path().join(rel)
        }
    }

    /// An overlay of a fresh tmpfs over a read-only gofer view of:
    /// a ("lower a"), c ("lower c"), l -> a, d/x ("x data"), d/sub/y.
    fn fixture() -> Fixture {
        let host = tempfile::tempdir().unwrap();
        let p = host.path();
        std::fs::write(p.join("a"), b"lower a").unwrap();
        std::fs::write(p.join("c"), b"lower c").unwrap();
        std::os::unix::fs::symlink("a", p.join("l")).unwrap();
        std::fs::create_dir_all(p.join("d/sub")).unwrap();
        std::fs::write(p.join("d/x"), b"x data").unwrap();
        std::fs::write(p.join("d/sub/y"), b"y").unwrap();
        std::fs::set_permissions(p.join("c"), std::fs::Permissions::from_mode(0o640)).unwrap();
        let lower = HostInode::root(Arc::new(LocalServer::new(p, true).unwrap()));
        let upper = Tmpfs::new(None, 0o755);
        let root = Overlay::new(lower, Arc::clone(&upper));
        Fixture { host, upper, root }
    }

    fn walk(dir: &Arc<dyn Inode>, path: &str) -> Result<Arc<dyn Inode>> {
        let mut cur = Arc::clone(dir);
        for name in path.split('/') {
            cur = cur.lookup(name.as_bytes())?;
        }
        Ok(cur)
    }

    fn read_all(inode: &Arc<dyn Inode>) -> Vec<u8> {
        let ops = inode.open(libc::O_RDONLY).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = ops.read(&mut buf, out.len() as u64).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
        let mut v: Vec<String> = dir
            .readdir()
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .collect();
        v.sort();
        v
    }

    fn host_bytes(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[test]
    fn unmodified_files_read_through_the_host_fd() {
        let fx = fixture();
        let a = fx.root.lookup(b"a").unwrap();
        let ops = a.open(libc::O_RDONLY).unwrap();
        assert!(ops.host_fd().is_some(), "lower files are read from the host");
        assert_eq!(read_all(&a), b"lower a");
        let st = a.stat().unwrap();
        let meta = std::fs::metadata(fx.host("a")).unwrap();
        assert_eq!(st.ino, meta.ino());
        assert_eq!(st.dev, fx.root.stat().unwrap().dev);
        assert_ne!(st.dev, meta.dev());
        assert_eq!(fx.root.lookup(b"l").unwrap().readlink().unwrap(), b"a");
        assert_eq!(names(&fx.root), ["a", "c", "d", "l"]);
        assert!(names(&fx.upper).is_empty(), "reading copies nothing up");
        assert_eq!(fx.root.fs_magic(), OVERLAYFS_SUPER_MAGIC);
    }

    #[test]
    fn writes_copy_up_and_leave_the_host_alone() {
        let fx = fixture();
        let a = fx.root.lookup(b"a").unwrap();
        let before = a.stat().unwrap();
        let old_fd = a.open(libc::O_RDONLY).unwrap();
        let ops = a.open(libc::O_RDWR).unwrap();
        assert!(ops.host_fd().is_none(), "writes go to memory");
        assert_eq!(ops.write(b"UP", 0).unwrap(), 2);
        assert_eq!(read_all(&a), b"UPwer a");
        // Another lookup shares the copied-up inode.
        assert_eq!(read_all(&fx.root.lookup(b"a").unwrap()), b"UPwer a");
        assert_eq!(host_bytes(&fx.host("a")), b"lower a");
        assert_eq!(read_all(&fx.upper.lookup(b"a").unwrap()), b"UPwer a");
        // Like overlayfs, a read-only fd opened before the copy-up keeps
        // reading the lower file.
        let mut buf = [0u8; 7];
        old_fd.read(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"lower a");
        let after = a.stat().unwrap();
        assert_eq!(
            (after.ino, after.dev, after.mode),
            (before.ino, before.dev, before.mode)
        );
        assert_eq!(names(&fx.root), ["a", "c", "d", "l"]);
    }

    #[test]
    fn copy_up_keeps_metadata_and_parents() {
        let fx = fixture();
        let c = fx.root.lookup(b"c").unwrap();
        let lower_st = c.stat().unwrap();
        c.setattr(SetAttr {
            mode: Some(0o600),
            ..SetAttr::default()
        })
        .unwrap();
        let st = c.stat().unwrap();
        assert_eq!(st.mode, libc::S_IFREG | 0o600);
        assert_eq!(
            (st.uid, st.gid, st.mtime, st.ino),
            (lower_st.uid, lower_st.gid, lower_st.mtime, lower_st.ino)
        );
        assert_eq!(read_all(&c), b"lower c");
        let host = std::fs::metadata(fx.host("c")).unwrap();
        assert_eq!(host.permissions().mode() & 0o777, 0o640);

        // Creating deep inside a lower directory copies the parents up.
        let d_mtime = walk(&fx.root, "d").unwrap().stat().unwrap().mtime;
        let sub = walk(&fx.root, "d/sub").unwrap();
        let f = sub.create(b"new", ATTR).unwrap();
        f.open(libc::O_WRONLY).unwrap().write(b"fresh", 0).unwrap();
        assert_eq!(names(&sub), ["new", "y"]);
        assert_eq!(read_all(&walk(&fx.upper, "d/sub/new").unwrap()), b"fresh");
        assert!(!fx.host("d/sub/new").exists());
        assert_eq!(walk(&fx.root, "d").unwrap().stat().unwrap().mtime, d_mtime);
        assert_eq!(
            walk(&fx.root, "d").unwrap().stat().unwrap().nlink,
            1,
            "merged directory"
        );
        assert_eq!(sub.create(b"y", ATTR).err(), Some(Errno::EEXIST));
        assert_eq!(fx.root.mkdir(b"d", ATTR).err(), Some(Errno::EEXIST));
    }

    #[test]
    fn identity_is_stat_dev_and_ino_across_copy_up() {
        let fx = fixture();
        let a = fx.root.lookup(b"a").unwrap();
        let before = a.stat().unwrap();
        assert_eq!(a.identity().unwrap(), (before.dev, before.ino));
        a.open(libc::O_WRONLY).unwrap();
        assert_eq!(a.identity().unwrap(), (before.dev, before.ino));
        let created = fx.root.create(b"fresh", ATTR).unwrap();
        let st = created.stat().unwrap();
        assert_eq!(created.identity().unwrap(), (st.dev, st.ino));
    }

    #[test]
    fn o_trunc_copies_up_empty() {
        let fx = fixture();
        let a = fx.root.lookup(b"a").unwrap();
        a.open(libc::O_WRONLY | libc::O_TRUNC).unwrap();
        assert_eq!(a.stat().unwrap().size, 0);
        assert_eq!(host_bytes(&fx.host("a")), b"lower a");
    }

    #[test]
    fn unlink_whiteouts_hide_lower_names() {
        let fx = fixture();
        let a_ino = fx.root.lookup(b"a").unwrap().stat().unwrap().ino;
        fx.root.unlink(b"a").unwrap();
        assert_eq!(fx.root.lookup(b"a").err(), Some(Errno::ENOENT));
        assert_eq!(fx.root.unlink(b"a").err(), Some(Errno::ENOENT));
        assert_eq!(names(&fx.root), ["c", "d", "l"]);
        assert!(fx.upper.lookup(b"a").is_err(), "no whiteout marker in the upper layer");
        assert!(names(&fx.upper).is_empty());
        assert_eq!(host_bytes(&fx.host("a")), b"lower a");
        // A new file by that name starts empty and is a different file.
        let a = fx.root.create(b"a", ATTR).unwrap();
        assert!(read_all(&a).is_empty());
        assert_ne!(a.stat().unwrap().ino, a_ino);
        assert_eq!(names(&fx.root), ["a", "c", "d", "l"]);
        // Unlinking a copied-up file removes it from both views.
        fx.root.lookup(b"c").unwrap().open(libc::O_RDWR).unwrap();
        fx.root.unlink(b"c").unwrap();
        assert_eq!(names(&fx.root), ["a", "d", "l"]);
        assert_eq!(fx.root.unlink(b"d").err(), Some(Errno::EISDIR));
    }

    #[test]
    fn rmdir_and_opaque_recreation() {
        let fx = fixture();
        let d = fx.root.lookup(b"d").unwrap();
        assert_eq!(fx.root.rmdir(b"d").err(), Some(Errno::ENOTEMPTY));
        assert_eq!(fx.root.rmdir(b"a").err(), Some(Errno::ENOTDIR));
        assert_eq!(d.rmdir(b"sub").err(), Some(Errno::ENOTEMPTY));
        walk(&fx.root, "d/sub").unwrap().unlink(b"y").unwrap();
        d.rmdir(b"sub").unwrap();
        d.unlink(b"x").unwrap();
        assert!(names(&d).is_empty());
        fx.root.rmdir(b"d").unwrap();
        assert_eq!(fx.root.lookup(b"d").err(), Some(Errno::ENOENT));
        assert_eq!(d.create(b"z", ATTR).err(), Some(Errno::ENOENT), "removed directory");
        // A new directory by that name does not show the old lower content.
        fx.root.mkdir(b"d", ATTR).unwrap();
        let d2 = fx.root.lookup(b"d").unwrap();
        assert!(names(&d2).is_empty());
        assert_eq!(d2.lookup(b"x").err(), Some(Errno::ENOENT));
        assert_eq!(d2.stat().unwrap().nlink, 2);
        assert!(fx.host("d/sub/y").exists() && fx.host("d/x").exists());
    }

    #[test]
    fn rename_files_copies_up_and_whiteouts() {
        let fx = fixture();
        let c_ino = fx.root.lookup(b"c").unwrap().stat().unwrap().ino;
        let d = fx.root.lookup(b"d").unwrap();
        fx.root.rename(b"c", &d, b"c2").unwrap();
        assert_eq!(fx.root.lookup(b"c").err(), Some(Errno::ENOENT));
        let c2 = d.lookup(b"c2").unwrap();
        assert_eq!(read_all(&c2), b"lower c");
        assert_eq!(c2.stat().unwrap().ino, c_ino, "st_ino survives rename");
        let d_entry = d.readdir().unwrap().into_iter().find(|e| e.name == b"c2").unwrap();
        assert_eq!(d_entry.ino, c_ino);
        // Over an existing lower file.
        d.rename(b"c2", &fx.root, b"a").unwrap();
        assert_eq!(read_all(&fx.root.lookup(b"a").unwrap()), b"lower c");
        assert_eq!(names(&fx.root), ["a", "d", "l"]);
        assert_eq!(names(&d), ["sub", "x"]);
        // Symlinks too.
        fx.root.rename(b"l", &fx.root, b"l2").unwrap();
        assert_eq!(fx.root.lookup(b"l2").unwrap().readlink().unwrap(), b"a");
        assert_eq!(host_bytes(&fx.host("a")), b"lower a");
        assert_eq!(host_bytes(&fx.host("c")), b"lower c");
        assert!(fx.host("l").is_symlink());
    }

    #[test]
    fn rename_rules() {
        let fx = fixture();
        let d = fx.root.lookup(b"d").unwrap();
        assert_eq!(fx.root.rename(b"d", &fx.root, b"d2").err(), Some(Errno::EXDEV));
        assert_eq!(fx.root.rename(b"a", &fx.root, b"d").err(), Some(Errno::EISDIR));
        assert_eq!(d.rename(b"sub", &fx.root, b"a").err(), Some(Errno::ENOTDIR));
        assert_eq!(fx.root.rename(b"nope", &fx.root, b"x").err(), Some(Errno::ENOENT));
        let tmp = Tmpfs::new(None, 0o755);
        assert_eq!(fx.root.rename(b"a", &tmp, b"x").err(), Some(Errno::EXDEV));
        fx.root.rename(b"a", &fx.root, b"a").unwrap();
        // Directories only in the upper layer move freely.
        fx.root.mkdir(b"n", ATTR).unwrap();
        let n = fx.root.lookup(b"n").unwrap();
        n.mkdir(b"inner", ATTR).unwrap();
        let inner = n.lookup(b"inner").unwrap();
        assert_eq!(fx.root.rename(b"n", &inner, b"x").err(), Some(Errno::EINVAL));
        assert_eq!(fx.root.rename(b"n", &fx.root, b"a").err(), Some(Errno::ENOTDIR));
        assert_eq!(fx.root.rename(b"n", &fx.root, b"d").err(), Some(Errno::ENOTEMPTY));
        fx.root.rename(b"n", &d, b"moved").unwrap();
        assert!(walk(&fx.root, "d/moved/inner").unwrap().stat().unwrap().is_dir());
        assert_eq!(names(&d), ["moved", "sub", "x"]);
        // Hard links of one file: nothing to do.
        fx.root.link(b"a2", &fx.root.lookup(b"a").unwrap()).unwrap();
        fx.root.rename(b"a", &fx.root, b"a2").unwrap();
        assert_eq!(names(&fx.root), ["a", "a2", "c", "d", "l"]);
    }

    #[test]
    fn rename_directory_over_empty_lower_directory() {
        let fx = fixture();
        walk(&fx.root, "d/sub").unwrap().unlink(b"y").unwrap();
        fx.root.mkdir(b"n", ATTR).unwrap();
        fx.root.lookup(b"n").unwrap().create(b"mine", ATTR).unwrap();
        let d = fx.root.lookup(b"d").unwrap();
        fx.root.rename(b"n", &d, b"sub").unwrap();
        assert_eq!(names(&walk(&fx.root, "d/sub").unwrap()), ["mine"]);
        assert!(fx.host("d/sub/y").exists());
    }

    #[test]
    fn links_symlinks_and_nodes_go_to_the_upper() {
        let fx = fixture();
        let a = fx.root.lookup(b"a").unwrap();
        let d = fx.root.lookup(b"d").unwrap();
        d.link(b"a-link", &a).unwrap();
        assert_eq!(a.stat().unwrap().nlink, 2);
        let linked = d.lookup(b"a-link").unwrap();
        assert_eq!(linked.stat().unwrap().ino, a.stat().unwrap().ino);
        linked.open(libc::O_WRONLY).unwrap().write(b"L", 0).unwrap();
        assert_eq!(read_all(&a), b"Lower a");
        assert_eq!(d.link(b"x", &a).err(), Some(Errno::EEXIST));
        assert_eq!(fx.root.link(b"dd", &d).err(), Some(Errno::EPERM));
        fx.root.symlink(b"s", b"target", ATTR).unwrap();
        assert_eq!(fx.root.lookup(b"s").unwrap().readlink().unwrap(), b"target");
        let fifo = CreateAttr {
            mode: libc::S_IFIFO | 0o600,
            ..ATTR
        };
        d.mknod(b"p", fifo, 0).unwrap();
        assert_eq!(d.lookup(b"p").unwrap().stat().unwrap().mode, libc::S_IFIFO | 0o600);
        assert!(!fx.host("s").exists() && !fx.host("d/p").exists() && !fx.host("d/a-link").exists());
        let readdir_ino = d
            .readdir()
            .unwrap()
            .into_iter()
            .find(|e| e.name == b"a-link")
            .unwrap()
            .ino;
        assert_eq!(readdir_ino, a.stat().unwrap().ino);
    }

    #[test]
    fn inode_numbers_are_consistent() {
        let fx = fixture();
        fx.root.create(b"u", ATTR).unwrap();
        let u = fx.root.lookup(b"u").unwrap().stat().unwrap().ino;
        assert_ne!(u & UPPER_INO_TAG, 0);
        let from_dir: HashMap<Vec<u8>, u64> = fx
            .root
            .readdir()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.ino))
            .collect();
        for (name, ino) in &from_dir {
            assert_eq!(fx.root.lookup(name).unwrap().stat().unwrap().ino, *ino);
        }
        // A copied-up directory keeps its number.
        let d_ino = from_dir[&b"d".to_vec()];
        walk(&fx.root, "d").unwrap().create(b"f", ATTR).unwrap();
        assert_eq!(fx.root.lookup(b"d").unwrap().stat().unwrap().ino, d_ino);
        assert_eq!(
            fx.root
                .readdir()
                .unwrap()
                .into_iter()
                .find(|e| e.name == b"d")
                .unwrap()
                .ino,
            d_ino
        );
    }

    #[test]
    fn upper_root_takes_lower_root_metadata() {
        let fx = fixture();
        let st = fx.root.stat().unwrap();
        let host = std::fs::metadata(fx.host.path()).unwrap();
        assert_eq!(st.mode & 0o7777, host.mode() & 0o7777);
        assert_eq!(
            st.mtime,
            Timespec {
                sec: host.mtime(),
                nsec: host.mtime_nsec()
            }
        );
        assert_eq!(fx.root.lookup(b"a").unwrap().lookup(b"x").err(), Some(Errno::ENOTDIR));
        assert_eq!(fx.root.open(libc::O_WRONLY).err(), Some(Errno::EISDIR));
    }

    #[test]
    fn duplicate_inodes_of_one_file_converge_on_copy_up() {
        let fx = fixture();
        let root = fx.root.as_any().downcast_ref::<OverlayInode>().unwrap();
        let cached = root.lookup_child(b"a").unwrap();
        // What a lookup that raced with a rename builds: not in the cache.
        let stray = root.build_child(b"a").unwrap();
        assert!(!Arc::ptr_eq(&cached, &stray));
        let write = |i: &Arc<OverlayInode>, data: &[u8]| {
            let ops = i.open(libc::O_RDWR).unwrap();
            ops.write(data, 0).unwrap();
        };
        write(&cached, b"1");
        write(&stray, b"2");
        let cached: Arc<dyn Inode> = cached;
        assert_eq!(read_all(&cached), b"2ower a");
        assert_eq!(names(&fx.upper), ["a"]);
    }

    #[test]
    fn concurrent_changes_do_not_deadlock() {
        let fx = fixture();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let root = Arc::clone(&fx.root);
                std::thread::spawn(move || {
                    let d = root.lookup(b"d").unwrap();
                    for i in 0..50 {
                        let name = format!("f{t}-{i}");
                        let f = d.create(name.as_bytes(), ATTR).unwrap();
                        f.open(libc::O_WRONLY).unwrap().write(b"x", 0).unwrap();
                        let moved = format!("g{t}-{i}");
                        d.rename(name.as_bytes(), &root, moved.as_bytes()).unwrap();
                        assert_eq!(read_all(&root.lookup(b"c").unwrap()), b"lower c");
                        root.unlink(moved.as_bytes()).unwrap();
                        let x = d.lookup(b"x").unwrap();
                        let _ = x.open(libc::O_RDWR).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(names(&fx.root), ["a", "c", "d", "l"]);
        assert_eq!(names(&fx.root.lookup(b"d").unwrap()), ["sub", "x"]);
        assert_eq!(host_bytes(&fx.host("d/x")), b"x data");
    }

    #[test]
    fn tmpfs_lower_works_too() {
        let lower = Tmpfs::new(None, 0o755);
        lower.mkdir(b"etc", ATTR).unwrap();
        let f = lower.lookup(b"etc").unwrap().create(b"conf", ATTR).unwrap();
        f.open(libc::O_WRONLY).unwrap().write(b"k=v", 0).unwrap();
        let root = Overlay::new(Arc::clone(&lower), Tmpfs::new(Some(1 << 20), 0o755));
        let conf = walk(&root, "etc/conf").unwrap();
        conf.open(libc::O_WRONLY | libc::O_APPEND)
            .unwrap()
            .write(b"!", 3)
            .unwrap();
        assert_eq!(read_all(&conf), b"k=v!");
        assert_eq!(read_all(&f), b"k=v");
    }

    #[test]
    fn exchange_copies_both_up_and_swaps() {
        let fx = fixture();
        let d = fx.root.lookup(b"d").unwrap();
        fx.root.exchange(b"a", &d, b"x").unwrap();
        assert_eq!(read_all(&fx.root.lookup(b"a").unwrap()), b"x data");
        assert_eq!(read_all(&walk(&fx.root, "d/x").unwrap()), b"lower a");
        assert_eq!(host_bytes(&fx.host("a")), b"lower a");
        assert_eq!(names(&fx.root), ["a", "c", "d", "l"]);
        assert_eq!(fx.root.exchange(b"a", &d, b"none").err(), Some(Errno::ENOENT));
        // A merged directory cannot move, as with rename.
        assert_eq!(fx.root.exchange(b"d", &fx.root, b"c").err(), Some(Errno::EXDEV));
    }

    #[test]
    fn tmpfile_lives_in_the_upper_and_links_there() {
        let fx = fixture();
        let d = fx.root.lookup(b"d").unwrap();
        let t = d.create_tmpfile(ATTR, true).unwrap();
        assert_eq!(t.stat().unwrap().nlink, 0);
        assert_eq!(t.open(libc::O_RDWR).unwrap().write(b"tmp", 0).unwrap(), 3);
        d.link(b"named", &t).unwrap();
        assert_eq!(read_all(&walk(&fx.root, "d/named").unwrap()), b"tmp");
        assert!(!fx.host("d/named").exists());
    }
}
