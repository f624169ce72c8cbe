//! What every Internet socket is: a handle on its entry in one of the
//! stack's tables. The entry (options, addresses, smoltcp handles) lives
//! under the stack lock, keyed by the socket's id; every operation locks
//! the stack, takes the entry out, brings it up to date with its smoltcp
//! sockets, works on both, and puts it back.

use super::addr::Family;
use super::options::InetOptions;
use super::stack::{Stack, StackInner};
use crate::errno::{Errno, Result};
use crate::net::{SocketInode, Wait};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// A socket's state in one of the stack's tables.
pub trait Entry: Send + Sized + 'static {
    /// The stack's table holding entries of this kind.
    fn table(inner: &mut StackInner) -> &mut HashMap<u64, Self>;
    /// Catches up with the smoltcp sockets before each use (a connect
    /// that completed, a datagram or an ICMP error that arrived).
    fn refresh(&mut self, inner: &mut StackInner, family: Family);
    fn opts(&self) -> &InetOptions;
    /// Frees what the closed socket `id` held: ports, smoltcp sockets.
    fn free(self, inner: &mut StackInner, id: u64);
}

/// An Internet socket: its stack, its id in `E`'s table, its family and
/// inode.
pub struct InetSocket<E: Entry> {
    pub(super) stack: Arc<Stack>,
    pub(super) id: u64,
    pub(super) family: Family,
    pub(super) inode: Arc<SocketInode>,
    entry: PhantomData<fn() -> E>,
}

impl<E: Entry> InetSocket<E> {
    /// A socket whose state is `entry`.
    pub fn create(stack: &Arc<Stack>, family: Family, inode: Arc<SocketInode>, entry: E) -> Result<Arc<Self>> {
        let mut inner = stack.lock()?;
        Ok(Self::insert(stack, &mut inner, family, inode, entry))
    }

    /// `create` with the stack already locked.
    pub fn insert(
        stack: &Arc<Stack>,
        inner: &mut StackInner,
        family: Family,
        inode: Arc<SocketInode>,
        entry: E,
    ) -> Arc<Self> {
        let id = inner.new_id();
        E::table(inner).insert(id, entry);
        Arc::new(InetSocket {
            stack: stack.clone(),
            id,
            family,
            inode,
            entry: PhantomData,
        })
    }

    /// Runs `f` on this socket's entry and the stack, after refreshing
    /// the entry.
    pub fn with<T>(&self, f: impl FnOnce(&mut E, &mut StackInner) -> Result<T>) -> Result<T> {
        let mut inner = self.stack.lock()?;
        self.with_locked(&mut inner, f)
    }

    /// `with` with the stack already locked.
    pub fn with_locked<T>(
        &self,
        inner: &mut StackInner,
        f: impl FnOnce(&mut E, &mut StackInner) -> Result<T>,
    ) -> Result<T> {
        let mut entry = E::table(inner).remove(&self.id).ok_or(Errno::EBADF)?;
        entry.refresh(inner, self.family);
        let result = f(&mut entry, inner);
        E::table(inner).insert(self.id, entry);
        result
    }

    /// Runs `f` on the entry until it has an answer, blocking on the
    /// stack between tries (or until the wait ends).
    pub fn wait_for<T>(
        &self,
        wait: &Wait,
        mut f: impl FnMut(&mut E, &mut StackInner) -> Result<Option<T>>,
    ) -> Result<T> {
        let mut inner = self.stack.lock()?;
        loop {
            if let Some(answer) = self.with_locked(&mut inner, &mut f)? {
                return Ok(answer);
            }
            inner = wait.block(&self.stack.changed, inner)?;
        }
    }

    /// SO_RCVTIMEO, for `Socket::rcvtimeo`.
    pub fn recv_timeout(&self) -> Option<Duration> {
        self.with(|entry, _| Ok(entry.opts().sock.rcvtimeo)).ok().flatten()
    }

    /// SO_SNDTIMEO, for `Socket::sndtimeo`.
    pub fn send_timeout(&self) -> Option<Duration> {
        self.with(|entry, _| Ok(entry.opts().sock.sndtimeo)).ok().flatten()
    }

    /// close(2) of the last description: the entry leaves its table and
    /// frees what it held (once; later calls find nothing).
    pub fn release_entry(&self) {
        let Ok(mut inner) = self.stack.lock() else { return };
        let Some(entry) = E::table(&mut inner).remove(&self.id) else {
            return;
        };
        entry.free(&mut inner, self.id);
        self.stack.update(&mut inner);
    }
}

impl<E: Entry> Drop for InetSocket<E> {
    fn drop(&mut self) {
        self.release_entry();
    }
}

/// What poll(2) reports of `mask` to a caller asking for `events`:
/// POLLERR and POLLHUP are reported unasked.
pub fn reported(mask: i16, events: i16) -> i16 {
    (mask & events) | (mask & (libc::POLLERR | libc::POLLHUP))
}
