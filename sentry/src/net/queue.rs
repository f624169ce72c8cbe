//! A socket's receive queue: messages in arrival order, each with the
//! sender's name and credentials and any file descriptions passed with it
//! (SCM_RIGHTS). Stream sockets read across messages; datagram and
//! seqpacket sockets read one message at a time.

use super::addr::Address;
use super::{Ucred, Wait};
use crate::errno::{Errno, Result};
use crate::vfs::OpenFile;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Bytes a queued message is charged beyond its data (Linux charges an
/// sk_buff's truesize against the send buffer).
pub const MESSAGE_OVERHEAD: usize = 512;

pub struct Message {
    pub data: Vec<u8>,
    /// Bytes already read (stream sockets only).
    pub read: usize,
    pub from: Option<Address>,
    pub creds: Ucred,
    /// Open file descriptions in flight; dropping the message closes them.
    pub files: Vec<Arc<OpenFile>>,
}

impl Message {
    fn charge(&self) -> usize {
        self.data.len() + MESSAGE_OVERHEAD
    }
}

#[derive(Default)]
pub struct QueueState {
    pub messages: VecDeque<Message>,
    /// Bytes charged for the queued messages.
    pub charged: usize,
    /// No more data will arrive or be accepted: the receiver shut down
    /// reading or closed, or (connection-based) the sender shut down
    /// writing or closed. Reads of an empty queue return 0, writes EPIPE.
    pub closed: bool,
    /// An error for the receiver (SO_ERROR): ECONNRESET when the peer
    /// closed with data unread or was never accepted.
    pub error: Option<Errno>,
}

impl QueueState {
    pub fn push(&mut self, msg: Message) {
        self.charged += msg.charge();
        self.messages.push_back(msg);
    }

    pub fn pop(&mut self) -> Option<Message> {
        let msg = self.messages.pop_front()?;
        self.charged = self.charged.saturating_sub(msg.charge());
        Some(msg)
    }

    /// Unread bytes (FIONREAD on a stream).
    pub fn unread(&self) -> usize {
        self.messages.iter().map(|m| m.data.len() - m.read).sum()
    }
}

#[derive(Default)]
pub struct Queue {
    state: Mutex<QueueState>,
    pub changed: Condvar,
}

impl Queue {
    pub fn lock(&self) -> Result<MutexGuard<'_, QueueState>> {
        self.state.lock().map_err(|_| Errno::EIO)
    }

    /// Marks the queue closed and drops what it holds (closing the files
    /// in flight) outside the lock.
    pub fn close_and_drain(&self) {
        let drained: Vec<Message> = match self.state.lock() {
            Ok(mut s) => {
                s.closed = true;
                s.charged = 0;
                s.messages.drain(..).collect()
            }
            Err(_) => Vec::new(),
        };
        self.changed.notify_all();
        drop(drained);
    }

    pub fn close(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.closed = true;
        }
        self.changed.notify_all();
    }

    /// Waits until `ready` holds for the queue state.
    pub fn wait_until<'a>(
        &'a self,
        mut guard: MutexGuard<'a, QueueState>,
        wait: &Wait,
        ready: impl Fn(&QueueState) -> bool,
    ) -> Result<MutexGuard<'a, QueueState>> {
        while !ready(&guard) {
            guard = wait.block(&self.changed, guard)?;
        }
        Ok(guard)
    }
}
