//! Path resolution (path_resolution(7)): components are looked up one at a
//! time; `..` never climbs above the task's root; symlinks are followed up
//! to 40 times (ELOOP after); mount points switch to the mounted root.

use super::{Dentry, MountTable, Stat};
use crate::errno::{Errno, Result};
use std::sync::Arc;

/// Linux's limit on symlinks followed during one resolution.
const MAX_SYMLINKS: u32 = 40;
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4096;

/// The filesystem view of a process: its root, cwd and the mount table.
#[derive(Clone)]
pub struct FsContext {
    pub root: Arc<Dentry>,
    pub cwd: Arc<Dentry>,
    pub mounts: Arc<MountTable>,
    pub umask: u32,
    /// Who resolves paths, for the search permission of each directory
    /// passed; None for a caller that bypasses it.
    pub searcher: Option<Arc<Searcher>>,
    /// openat2(2) restrictions on this resolution; none by default.
    pub limits: ResolveLimits,
}

/// The RESOLVE_* restrictions of openat2(2) (see openat2(2) "The
/// resolve field"). RESOLVE_IN_ROOT needs none: it replaces the root.
#[derive(Clone, Default)]
pub struct ResolveLimits {
    /// RESOLVE_NO_XDEV: crossing a mount point is EXDEV.
    pub no_xdev: bool,
    /// RESOLVE_NO_MAGICLINKS: following a /proc magic link is ELOOP.
    pub no_magiclinks: bool,
    /// RESOLVE_NO_SYMLINKS: following any symlink is ELOOP.
    pub no_symlinks: bool,
    /// RESOLVE_BENEATH: leaving this directory (by "..", an absolute path
    /// or symlink) is EXDEV.
    pub beneath: Option<Arc<Dentry>>,
    /// RESOLVE_BENEATH or RESOLVE_IN_ROOT: magic links are EXDEV, as they
    /// could jump anywhere.
    pub scoped: bool,
}

/// The ids a path walk checks search (execute) permission with: every
/// directory a path passes through must grant it (path_resolution(7)
/// "Permissions"). A caller with CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH
/// has none.
#[derive(Debug, Clone)]
pub struct Searcher {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, sorted.
    pub groups: Vec<u32>,
}

impl Searcher {
    fn may_search(&self, st: &Stat) -> bool {
        let bits = if st.uid == self.uid {
            st.mode >> 6
        } else if st.gid == self.gid || self.groups.binary_search(&st.gid).is_ok() {
            st.mode >> 3
        } else {
            st.mode
        };
        bits & 1 != 0
    }
}

impl FsContext {
    /// Resolves `path` relative to `start` (ignored for absolute paths).
    /// With `follow_last`, a final symlink is followed too.
    pub fn resolve(&self, start: &Arc<Dentry>, path: &[u8], follow_last: bool) -> Result<Arc<Dentry>> {
        check_path(path)?;
        let mut links = 0;
        self.walk(start.clone(), path, follow_last, &mut links)
    }

    /// Resolves all but the last component; returns the parent directory and
    /// the last name. A path ending in "/" keeps the slash out of the name
    /// (callers that need a directory check that themselves). "." and ".."
    /// as the last component are returned as-is for the caller to reject.
    pub fn resolve_parent(&self, start: &Arc<Dentry>, path: &[u8]) -> Result<(Arc<Dentry>, Vec<u8>)> {
        check_path(path)?;
        let trimmed = trim_trailing_slashes(path);
        let (dir_part, name) = match trimmed.iter().rposition(|&c| c == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let parent = if dir_part.is_empty() {
            start.clone()
        } else {
            let mut links = 0;
            self.walk(start.clone(), dir_part, true, &mut links)?
        };
        if !parent.inode.stat()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name.is_empty() {
            // The path was "/" (or only slashes).
            return Ok((parent, b".".to_vec()));
        }
        Ok((parent, name.to_vec()))
    }

    /// EACCES unless the searcher may search directory `dir`.
    fn check_search(&self, dir: &Stat) -> Result<()> {
        match &self.searcher {
            Some(s) if dir.is_dir() && !s.may_search(dir) => Err(Errno::EACCES),
            _ => Ok(()),
        }
    }

    /// Looks up one component in `dir`, crossing mount points.
    pub fn lookup_child(&self, dir: &Arc<Dentry>, name: &[u8]) -> Result<Arc<Dentry>> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let dir_st = dir.inode.stat()?;
        if !dir_st.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        self.check_search(&dir_st)?;
        let path = dir.child_path(name);
        let inode = match self.mounts.at(&path) {
            Some(mount) => mount.root,
            None => dir.inode.lookup(name)?,
        };
        Ok(Arc::new(Dentry {
            path,
            parent: Some(dir.clone()),
            inode,
        }))
    }

    fn parent_of(&self, dir: &Arc<Dentry>) -> Arc<Dentry> {
        if Arc::ptr_eq(dir, &self.root) || dir.path == self.root.path {
            return self.root.clone();
        }
        dir.parent.clone().unwrap_or_else(|| self.root.clone())
    }

    /// The mount a path lies in, by the identity of its root inode.
    fn mount_id(&self, path: &[u8]) -> Option<*const ()> {
        self.mounts.mount_of(path).map(|m| Arc::as_ptr(&m.root) as *const ())
    }

    /// The openat2 checks for a jump to the root (an absolute path).
    fn check_absolute(&self, from: &Dentry) -> Result<()> {
        if self.limits.beneath.is_some() {
            return Err(Errno::EXDEV);
        }
        if self.limits.no_xdev && self.mount_id(&from.path) != self.mount_id(&self.root.path) {
            return Err(Errno::EXDEV);
        }
        Ok(())
    }

    /// The openat2 checks for ".." from `dir`.
    fn check_dotdot(&self, dir: &Dentry) -> Result<()> {
        if let Some(scope) = &self.limits.beneath {
            if dir.path == scope.path {
                return Err(Errno::EXDEV);
            }
        }
        let at_root = dir.path == self.root.path;
        if self.limits.no_xdev && !at_root && self.mounts.at(&dir.path).is_some() {
            return Err(Errno::EXDEV);
        }
        Ok(())
    }

    /// The openat2 checks for following symlink `link`.
    fn check_follow(&self, link: &Dentry) -> Result<()> {
        if self.limits.no_symlinks {
            return Err(Errno::ELOOP);
        }
        if link.inode.is_magic_link() {
            if self.limits.no_magiclinks {
                return Err(Errno::ELOOP);
            }
            if self.limits.scoped {
                return Err(Errno::EXDEV);
            }
        }
        Ok(())
    }

    fn walk(&self, start: Arc<Dentry>, path: &[u8], follow_last: bool, links: &mut u32) -> Result<Arc<Dentry>> {
        let mut cur = if path.first() == Some(&b'/') {
            self.check_absolute(&start)?;
            self.root.clone()
        } else {
            start
        };
        // A trailing slash means the last component must be a directory,
        // so a symlink there is followed.
        let follow_last = follow_last || path.last() == Some(&b'/');
        let components: Vec<&[u8]> = path.split(|&c| c == b'/').filter(|c| !c.is_empty()).collect();
        for (i, name) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            match *name {
                b"." => {
                    let st = cur.inode.stat()?;
                    if !st.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    self.check_search(&st)?;
                }
                b".." => {
                    let st = cur.inode.stat()?;
                    if !st.is_dir() {
                        return Err(Errno::ENOTDIR);
                    }
                    self.check_search(&st)?;
                    self.check_dotdot(&cur)?;
                    cur = self.parent_of(&cur);
                }
                _ => {
                    let child = self.lookup_child(&cur, name)?;
                    if self.limits.no_xdev && self.mounts.at(&child.path).is_some() {
                        return Err(Errno::EXDEV);
                    }
                    if (!last || follow_last) && child.inode.stat()?.is_symlink() {
                        self.check_follow(&child)?;
                        *links += 1;
                        if *links > MAX_SYMLINKS {
                            return Err(Errno::ELOOP);
                        }
                        if let Some(target) = child.inode.magic_target() {
                            cur = target?;
                            continue;
                        }
                        let target = child.inode.readlink()?;
                        if target.is_empty() {
                            return Err(Errno::ENOENT);
                        }
                        cur = self.walk(cur, &target, true, links)?;
                    } else {
                        cur = child;
                    }
                }
            }
        }
        if path.last() == Some(&b'/') && !cur.inode.stat()?.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }
}

fn check_path(path: &[u8]) -> Result<()> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}
