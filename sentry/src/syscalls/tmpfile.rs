//! O_TMPFILE (open(2)): an unnamed regular file in a directory.

use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::vfs::resolve::FsContext;
use crate::vfs::Dentry;
use std::sync::Arc;

pub(super) fn open_tmpfile(
    _task: &Task,
    _fs: &FsContext,
    _start: &Arc<Dentry>,
    _path: &[u8],
    _flags: i32,
    _mode: u32,
) -> Result<u64> {
    Err(Errno::EOPNOTSUPP)
}
