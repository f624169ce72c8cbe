//! Host fds handed to the guest as-is (the container's stdio: pipes, FIFOs
//! or a pty from the OCI runtime's caller). Reads and writes go straight to
//! the host fd, sharing its host file offset as the guest's parent would.

use crate::errno::{Errno, Result};
use crate::mm::{UserMemory, UserMemoryExt};
use crate::vfs::{FileOps, Inode, Stat, Timespec};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

pub struct HostStream {
    fd: OwnedFd,
}

/// Size of the kernel's struct termios (not glibc's larger one).
const KERNEL_TERMIOS_SIZE: usize = 36;

impl HostStream {
    pub fn new(fd: OwnedFd) -> Arc<HostStream> {
        Arc::new(HostStream { fd })
    }

    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(crate) fn host_stat(&self) -> Result<libc::stat> {
        host_fstat(self.raw())
    }

    /// Forwards an ioctl whose argument is a `size`-byte struct copied out
    /// to the guest.
    fn ioctl_out(&self, cmd: u32, arg: u64, size: usize, mem: &dyn UserMemory) -> Result<u64> {
        let mut buf = [0u8; 64];
        // SAFETY: the host kernel writes at most `size` <= 64 bytes for these requests.
        if unsafe { libc::ioctl(self.raw(), cmd as _, buf.as_mut_ptr()) } != 0 {
            return Err(Errno::last());
        }
        mem.write(arg, &buf[..size])?;
        Ok(0)
    }

    /// Forwards an ioctl whose argument is a `size`-byte struct copied in
    /// from the guest.
    fn ioctl_in(&self, cmd: u32, arg: u64, size: usize, mem: &dyn UserMemory) -> Result<u64> {
        let mut buf = [0u8; 64];
        mem.read(arg, &mut buf[..size])?;
        // SAFETY: the host kernel reads at most `size` <= 64 bytes for these requests.
        if unsafe { libc::ioctl(self.raw(), cmd as _, buf.as_ptr()) } != 0 {
            return Err(Errno::last());
        }
        Ok(0)
    }
}

impl HostStream {
    /// Waits until the host fd is ready for `events`, giving up with
    /// EAGAIN (non-blocking) or ERESTARTSYS (a signal for the task).
    fn wait_ready(&self, events: i16, nonblock: bool) -> Result<()> {
        loop {
            let mut pfd = libc::pollfd {
                fd: self.raw(),
                events,
                revents: 0,
            };
            let timeout = if nonblock { 0 } else { 20 };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, timeout) };
            if n > 0 {
                return Ok(());
            }
            if n < 0 && Errno::last() != Errno::EINTR {
                return Err(Errno::last());
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            crate::kernel::interrupt::check()?;
        }
    }
}

impl FileOps for HostStream {
    fn read_with_flags(&self, buf: &mut [u8], offset: u64, flags: i32) -> Result<usize> {
        self.wait_ready(libc::POLLIN, flags & libc::O_NONBLOCK != 0)?;
        self.read(buf, offset)
    }

    fn write_with_flags(&self, buf: &[u8], offset: u64, flags: i32) -> Result<usize> {
        self.wait_ready(libc::POLLOUT, flags & libc::O_NONBLOCK != 0)?;
        self.write(buf, offset)
    }

    fn read(&self, buf: &mut [u8], _offset: u64) -> Result<usize> {
        loop {
            // SAFETY: valid fd, buffer and length.
            let n = unsafe { libc::read(self.raw(), buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = Errno::last();
            if e != Errno::EINTR {
                return Err(e);
            }
        }
    }

    fn write(&self, buf: &[u8], _offset: u64) -> Result<usize> {
        loop {
            // SAFETY: valid fd, buffer and length.
            let n = unsafe { libc::write(self.raw(), buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = Errno::last();
            if e != Errno::EINTR {
                return Err(e);
            }
        }
    }

    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self, events: i16) -> i16 {
        let mut pfd = libc::pollfd {
            fd: self.raw(),
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no waiting.
        if unsafe { libc::poll(&mut pfd, 1, 0) } < 0 {
            return libc::POLLERR;
        }
        pfd.revents
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        match cmd as u64 {
            libc::TCGETS => self.ioctl_out(cmd, arg, KERNEL_TERMIOS_SIZE, mem),
            libc::TCSETS | libc::TCSETSW | libc::TCSETSF => self.ioctl_in(cmd, arg, KERNEL_TERMIOS_SIZE, mem),
            libc::TIOCGWINSZ => self.ioctl_out(cmd, arg, 8, mem),
            libc::TIOCSWINSZ => self.ioctl_in(cmd, arg, 8, mem),
            libc::FIONREAD => {
                let mut n: i32 = 0;
                // SAFETY: FIONREAD writes one int.
                if unsafe { libc::ioctl(self.raw(), libc::FIONREAD, &mut n) } != 0 {
                    return Err(Errno::last());
                }
                mem.write_val(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn host_fd(&self) -> Option<RawFd> {
        Some(self.raw())
    }
}

/// The inode behind a host fd the guest was given (its stdio, or a
/// preserved fd): fstat reports the host fd's stat, and opening it again
/// (through /proc/PID/fd/N) shares the same host fd.
pub struct HostFdInode {
    pub ops: Arc<dyn FileOps>,
}

impl Inode for HostFdInode {
    fn stat(&self) -> Result<Stat> {
        let fd = self.ops.host_fd().ok_or(Errno::EBADF)?;
        Ok(guest_stat(&host_fstat(fd)?))
    }

    fn open(&self, _flags: i32) -> Result<Arc<dyn FileOps>> {
        Ok(self.ops.clone())
    }
    fn is_anonymous_pipe(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// fstat(2) of a host fd.
pub(crate) fn host_fstat(fd: RawFd) -> Result<libc::stat> {
    // SAFETY: all-zero is a valid stat; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: an fd number and a valid out pointer; a closed fd is EBADF.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(Errno::last());
    }
    Ok(st)
}

/// What the guest's fstat reports for a host file: the host's stat as is.
pub(crate) fn guest_stat(st: &libc::stat) -> Stat {
    let ts = |sec: i64, nsec: i64| Timespec { sec, nsec };
    Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        nlink: st.st_nlink,
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev,
        size: st.st_size as u64,
        blksize: st.st_blksize as u64,
        blocks: st.st_blocks as u64,
        atime: ts(st.st_atime, st.st_atime_nsec),
        mtime: ts(st.st_mtime, st.st_mtime_nsec),
        ctime: ts(st.st_ctime, st.st_ctime_nsec),
    }
}
