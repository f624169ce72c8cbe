//! Dentries: a resolved name with its absolute path, its parent and its
//! inode; and the mount table, keyed by absolute path.

use super::Inode;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A resolved path. Parents are kept so that `..` and getcwd work without
/// asking the filesystem.
pub struct Dentry {
    /// Absolute path from the guest's root, "/" for the root itself.
    pub path: Vec<u8>,
    pub parent: Option<Arc<Dentry>>,
    pub inode: Arc<dyn Inode>,
}

impl Dentry {
    pub fn root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            path: b"/".to_vec(),
            parent: None,
            inode,
        })
    }

    /// The absolute path of `name` inside this directory.
    pub fn child_path(&self, name: &[u8]) -> Vec<u8> {
        let mut path = self.path.clone();
        if path.last() != Some(&b'/') {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        path
    }

    /// The last component of the path ("/" for the root).
    pub fn name(&self) -> &[u8] {
        match self.path.iter().rposition(|&c| c == b'/') {
            Some(i) if i + 1 < self.path.len() => &self.path[i + 1..],
            _ => &self.path,
        }
    }

    pub fn is_root(&self) -> bool {
        self.parent.is_none()
    }
}

/// Filesystems mounted over directories, by absolute path.
#[derive(Default)]
pub struct MountTable {
    mounts: RwLock<HashMap<Vec<u8>, Mount>>,
}

/// One mount: the root inode of the mounted filesystem and how it was mounted.
#[derive(Clone)]
pub struct Mount {
    pub root: Arc<dyn Inode>,
    /// Filesystem type name, for /proc/mounts.
    pub fs_type: String,
    pub read_only: bool,
    /// Set-user-ID and set-group-ID bits do not apply (always true in
    /// effect: exec never changes credentials yet).
    pub nosuid: bool,
    /// execve and PROT_EXEC mappings of its files fail.
    pub noexec: bool,
    /// Its device nodes cannot be opened.
    pub nodev: bool,
}

impl Mount {
    /// A mount with no flags but `read_only`.
    pub fn new(root: Arc<dyn Inode>, fs_type: &str, read_only: bool) -> Mount {
        Mount {
            root,
            fs_type: fs_type.into(),
            read_only,
            nosuid: false,
            noexec: false,
            nodev: false,
        }
    }
}

impl MountTable {
    pub fn mount(&self, path: &[u8], mount: Mount) {
        if let Ok(mut mounts) = self.mounts.write() {
            mounts.insert(path.to_vec(), mount);
        }
    }

    /// The filesystem mounted at `path`, if any.
    pub fn at(&self, path: &[u8]) -> Option<Mount> {
        self.mounts.read().ok()?.get(path).cloned()
    }

    /// The mount that contains `path`: the longest mount path that is
    /// `path` itself or one of its ancestors.
    pub fn mount_of(&self, path: &[u8]) -> Option<Mount> {
        let mounts = self.mounts.read().ok()?;
        mounts
            .iter()
            .filter(|(p, _)| is_ancestor_or_self(p, path))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, m)| m.clone())
    }

    /// All mounts as (path, mount), sorted by path.
    pub fn list(&self) -> Vec<(Vec<u8>, Mount)> {
        let mut all: Vec<_> = match self.mounts.read() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        };
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

fn is_ancestor_or_self(ancestor: &[u8], path: &[u8]) -> bool {
    if ancestor == b"/" {
        return true;
    }
    path.starts_with(ancestor) && matches!(path.get(ancestor.len()), None | Some(b'/'))
}
