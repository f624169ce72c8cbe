//! The runtime's own fds handed to a new process at the same numbers,
//! after its stdio (runc's `--preserve-fds N`: fds 3 .. 3+N-1 of the
//! caller). Each is a host fd the Sentry holds and the guest uses as is:
//!
//! - regular files and block devices are [`HostFile`]s: pread/pwrite at
//!   the guest's own offset, which starts where the host fd's offset was
//!   when it was passed (the host's offset does not follow the guest's);
//! - everything else (pipes, FIFOs, terminals, sockets, character
//!   devices) is a [`HostStream`]: reads, writes and poll go to the host
//!   fd. A passed socket is a plain stream: socket calls on it (accept,
//!   getsockopt, ...) fail with ENOTSOCK, since the guest's sockets are
//!   the Sentry's own.
//!
//! The guest's status flags are the host fd's access mode, O_APPEND and
//! O_NONBLOCK, as an exec'd process inherits them on Linux.

use crate::errno::{Errno, Result};
use crate::fs::host::HostFile;
use crate::kernel::stdio::{host_fstat, HostFdInode, HostStream};
use crate::vfs::{Dentry, FdTable, FileOps, OpenFile};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// The first fd number after stdio.
pub const FIRST_PRESERVED_FD: i32 = 3;

/// Installs `preserved[i]` at fd 3 + i of `fds` (not close-on-exec).
pub fn install(fds: &FdTable, preserved: Vec<OwnedFd>) -> Result<()> {
    for (guest_fd, host) in (FIRST_PRESERVED_FD..).zip(preserved) {
        let file = open_file(host, guest_fd)?;
        fds.insert_at(guest_fd, file, false)?;
    }
    Ok(())
}

/// The guest's open file for `host`, which it sees as `guest_fd`.
fn open_file(host: OwnedFd, guest_fd: i32) -> Result<Arc<OpenFile>> {
    let st = host_fstat(host.as_raw_fd())?;
    let flags = guest_status_flags(host.as_raw_fd())?;
    let name = host_fd_name(Some(&st), guest_fd);
    let ops: Arc<dyn FileOps> = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFBLK => HostFile::adopted(std::fs::File::from(host)),
        _ => HostStream::new(host),
    };
    let offset = host_offset(&*ops);
    let dentry = Arc::new(Dentry {
        path: name.into_bytes(),
        parent: None,
        inode: Arc::new(HostFdInode { ops: ops.clone() }),
    });
    let file = OpenFile::new(dentry, ops.clone(), flags);
    if ops.seekable() {
        file.seek(offset, libc::SEEK_SET)?;
    }
    Ok(file)
}

/// The host fd's access mode, O_APPEND and O_NONBLOCK (fcntl(2) F_GETFL).
fn guest_status_flags(host: RawFd) -> Result<i32> {
    // SAFETY: F_GETFL takes no pointer; a closed fd is EBADF.
    let flags = unsafe { libc::fcntl(host, libc::F_GETFL) };
    if flags < 0 {
        return Err(Errno::last());
    }
    Ok(flags & (libc::O_ACCMODE | libc::O_APPEND | libc::O_NONBLOCK))
}

/// The host fd's current offset (0 for files without one).
fn host_offset(ops: &dyn FileOps) -> i64 {
    let Some(fd) = ops.host_fd() else { return 0 };
    // SAFETY: lseek takes no pointer; it only reads the offset here.
    let offset = unsafe { libc::lseek(fd, 0, libc::SEEK_CUR) };
    offset.max(0)
}

/// What /proc/PID/fd/N shows for a host fd: Linux's names for pipes,
/// sockets and /dev/null (which the sandbox's /dev has too); `host:[N]`
/// else, since the host path means nothing inside the sandbox.
pub(crate) fn host_fd_name(st: Option<&libc::stat>, guest_fd: i32) -> String {
    let Some(st) = st else {
        return format!("host:[{guest_fd}]");
    };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => format!("pipe:[{}]", st.st_ino),
        libc::S_IFSOCK => format!("socket:[{}]", st.st_ino),
        libc::S_IFCHR if st.st_rdev == libc::makedev(1, 3) => "/dev/null".to_string(),
        _ => format!("host:[{guest_fd}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::fd::FromRawFd;

    #[test]
    fn pipes_are_streams_with_the_host_flags() {
        let mut ends = [0; 2];
        // SAFETY: pipe2 fills two ints.
        let rc = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        assert_eq!(rc, 0);
        // SAFETY: both fds were just made and are owned by nothing else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
        let fds = FdTable::default();
        install(&fds, vec![w, r]).unwrap();
        let (wf, rf) = (fds.get(3).unwrap(), fds.get(4).unwrap());
        assert_eq!(wf.flags() & libc::O_ACCMODE, libc::O_WRONLY);
        assert_ne!(wf.flags() & libc::O_NONBLOCK, 0);
        assert!(!wf.ops.seekable());
        assert_eq!(wf.write(b"hi").unwrap(), 2);
        let mut buf = [0u8; 8];
        assert_eq!(rf.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"hi");
        assert_eq!(rf.read(&mut buf).err(), Some(Errno::EAGAIN));
        assert!(wf.dentry.inode.stat().unwrap().mode & libc::S_IFMT == libc::S_IFIFO);
        assert!(String::from_utf8_lossy(&wf.dentry.path).starts_with("pipe:["));
    }

    #[test]
    fn regular_files_start_at_the_host_offset_and_seek() {
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(b"0123456789").unwrap();
        tmp.seek(SeekFrom::Start(4)).unwrap();
        let fds = FdTable::default();
        install(&fds, vec![OwnedFd::from(tmp.try_clone().unwrap())]).unwrap();
        let file = fds.get(3).unwrap();
        assert!(file.ops.seekable());
        assert_eq!(file.flags() & libc::O_ACCMODE, libc::O_RDWR);
        let mut buf = [0u8; 3];
        assert_eq!(file.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"456");
        assert_eq!(file.seek(0, libc::SEEK_END).unwrap(), 10);
        assert_eq!(file.write(b"ab").unwrap(), 2);
        let mut all = String::new();
        tmp.seek(SeekFrom::Start(0)).unwrap();
        tmp.read_to_string(&mut all).unwrap();
        assert_eq!(all, "0123456789ab");
        assert_eq!(file.dentry.inode.stat().unwrap().size, 12);
    }
}
