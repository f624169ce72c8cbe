//! Anonymous inodes (Linux's anon_inode): the inode behind eventfd,
//! timerfd and epoll descriptors. It has no name in any file system; its
//! dentry's path is what /proc/PID/fd shows ("anon_inode:[eventfd]"), and
//! it carries the object the descriptor stands for, which the syscalls
//! that take such a descriptor find with [`object_of`].

use crate::errno::{Errno, Result};
use crate::vfs::{Dentry, FileOps, Inode, OpenFile, Stat, Timespec};
use std::any::Any;
use std::sync::Arc;

/// The single anonymous inode number Linux gives them all (anon_inode_inode).
const ANON_INO: u64 = 1;

pub struct AnonInode {
    object: Arc<dyn Any + Send + Sync>,
    created: Timespec,
}

impl Inode for AnonInode {
    fn stat(&self) -> Result<Stat> {
        Ok(Stat {
            dev: 0xe,
            ino: ANON_INO,
            // anon_inode_mkinode: S_IRUSR | S_IWUSR and no file type.
            mode: 0o600,
            nlink: 1,
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
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A new open file description for `object` (whose file operations are
/// `ops`), named "anon_inode:[NAME]".
pub fn new_file<T: Any + Send + Sync>(name: &str, object: Arc<T>, ops: Arc<dyn FileOps>, flags: i32) -> Arc<OpenFile> {
    let inode = Arc::new(AnonInode {
        object,
        created: Timespec::now(),
    });
    let dentry = Arc::new(Dentry {
        path: format!("anon_inode:[{name}]").into_bytes(),
        parent: None,
        inode,
    });
    OpenFile::new(dentry, ops, flags)
}

/// The object of type `T` behind an anonymous file, if `file` is one.
pub fn object_of<T: Any + Send + Sync>(file: &OpenFile) -> Option<Arc<T>> {
    let anon = file.dentry.inode.as_any().downcast_ref::<AnonInode>()?;
    anon.object.clone().downcast::<T>().ok()
}
