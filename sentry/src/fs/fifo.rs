//! Named pipes (fifo(7)). A FIFO inode of any file system (tmpfs, overlay,
//! or a host file system through the gofer) is never opened on the host:
//! every open of it in the sandbox shares one Sentry pipe, found by the
//! inode's identity.
//!
//! Opening for reading blocks until a writer opens and vice versa, unless
//! O_NONBLOCK: then a reader opens at once and a writer with no reader gets
//! ENXIO. O_RDWR never blocks (fifo(7), open(2) ENXIO).

use crate::errno::{Errno, Result};
use crate::fs::pipe::{Pipe, PipeEnd};
use crate::mm::UserMemory;
use crate::vfs::{FileOps, Stat};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// The pipes of the FIFOs open somewhere in the sandbox, by (dev, ino).
#[derive(Default)]
pub struct FifoTable {
    pipes: Mutex<HashMap<(u64, u64), Weak<Pipe>>>,
}

impl FifoTable {
    /// The pipe of the FIFO with stat `st`, made on first use.
    fn pipe_for(&self, st: &Stat) -> Result<Arc<Pipe>> {
        let mut pipes = self.pipes.lock().map_err(|_| Errno::EIO)?;
        let key = (st.dev, st.ino);
        if let Some(pipe) = pipes.get(&key).and_then(Weak::upgrade) {
            return Ok(pipe);
        }
        pipes.retain(|_, p| p.strong_count() > 0);
        let pipe = Pipe::new_fifo();
        pipes.insert(key, Arc::downgrade(&pipe));
        Ok(pipe)
    }
}

/// open(2) of a FIFO with stat `st`.
pub fn open(table: &FifoTable, st: &Stat, flags: i32) -> Result<Arc<dyn FileOps>> {
    open_pipe(&table.pipe_for(st)?, flags, false)
}

/// A new end (or both, O_RDWR) of `pipe` as open(2) of a FIFO gives it.
/// `anonymous`: a pipe(2) pipe opened again through /proc/PID/fd/N, which
/// (as Linux's fifo_open for pipefs) never waits for the other end and
/// never fails with ENXIO.
pub fn open_pipe(pipe: &Arc<Pipe>, flags: i32, anonymous: bool) -> Result<Arc<dyn FileOps>> {
    let nonblock = flags & libc::O_NONBLOCK != 0 || anonymous;
    let file = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => {
            let (reader, writer_opens) = pipe.open_end(false)?;
            if !nonblock {
                pipe.wait_for_peer(false, writer_opens)?;
            }
            FifoFile {
                reader: Some(reader),
                writer: None,
            }
        }
        libc::O_WRONLY => {
            if nonblock && !anonymous && !pipe.has_readers()? {
                return Err(Errno::ENXIO);
            }
            let (writer, reader_opens) = pipe.open_end(true)?;
            if !nonblock {
                pipe.wait_for_peer(true, reader_opens)?;
            }
            FifoFile {
                reader: None,
                writer: Some(writer),
            }
        }
        _ => FifoFile {
            reader: Some(pipe.open_end(false)?.0),
            writer: Some(pipe.open_end(true)?.0),
        },
    };
    Ok(Arc::new(file))
}

/// An open FIFO: a read end, a write end, or both (O_RDWR).
struct FifoFile {
    reader: Option<Arc<PipeEnd>>,
    writer: Option<Arc<PipeEnd>>,
}

impl FifoFile {
    /// Either end: both reach the same pipe.
    fn end(&self) -> Result<&Arc<PipeEnd>> {
        self.reader.as_ref().or(self.writer.as_ref()).ok_or(Errno::EBADF)
    }
}

impl FileOps for FifoFile {
    fn pipe_end(&self) -> Option<&PipeEnd> {
        self.end().ok().map(|end| end.as_ref())
    }
    fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.read_with_flags(buf, offset, 0)
    }
    fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.write_with_flags(buf, offset, 0)
    }
    fn read_with_flags(&self, buf: &mut [u8], offset: u64, flags: i32) -> Result<usize> {
        self.reader
            .as_ref()
            .ok_or(Errno::EBADF)?
            .read_with_flags(buf, offset, flags)
    }
    fn write_with_flags(&self, buf: &[u8], offset: u64, flags: i32) -> Result<usize> {
        self.writer
            .as_ref()
            .ok_or(Errno::EBADF)?
            .write_with_flags(buf, offset, flags)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn poll(&self, events: i16) -> i16 {
        let mut ready = 0;
        if let Some(r) = &self.reader {
            ready |= r.poll(events);
        }
        if let Some(w) = &self.writer {
            ready |= w.poll(events);
        }
        if self.reader.is_some() && self.writer.is_some() {
            // Both ends are ours: never hung up or broken (O_RDWR).
            ready &= !(libc::POLLHUP | libc::POLLERR);
        }
        ready
    }
    fn wake_hint(&self) -> crate::vfs::readiness::WakeHint {
        crate::vfs::readiness::WakeHint::Notified
    }
    fn event_count(&self, events: i16) -> u64 {
        self.end().map_or(0, |end| end.event_count(events))
    }
    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        self.end()?.ioctl(cmd, arg, mem)
    }
    fn pipe_capacity(&self, resize: Option<u64>, privileged: bool) -> Result<u64> {
        self.end()?.pipe_capacity(resize, privileged)
    }
}
