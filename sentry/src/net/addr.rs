//! Unix socket names (unix(7) "Address format"): a path name, an abstract
//! name (sun_path[0] == 0, in a namespace of the sandbox's own), or none.

use super::unix::UnixSocket;
use crate::errno::{Errno, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// The socket behind a name entry, unless it was closed.
fn live(entry: &Weak<UnixSocket>) -> Option<Arc<UnixSocket>> {
    entry.upgrade().filter(|s| !s.is_released())
}

/// offsetof(struct sockaddr_un, sun_path).
pub const SUN_PATH_OFFSET: usize = 2;
/// sizeof(struct sockaddr_un).
pub const SOCKADDR_UN_LEN: usize = 110;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// The path as given to bind (relative paths stay relative).
    Path(Vec<u8>),
    /// The name after the leading NUL byte (may contain NULs).
    Abstract(Vec<u8>),
}

impl Address {
    /// Parses a sockaddr_un of `len` bytes (already checked to be within
    /// 2..=110 and to have sun_family == AF_UNIX). None for an empty name
    /// (`len` == 2: autobind on bind).
    pub fn parse(raw: &[u8]) -> Result<Option<Address>> {
        let path = raw.get(SUN_PATH_OFFSET..).ok_or(Errno::EINVAL)?;
        match path.first() {
            None => Ok(None),
            Some(0) => Ok(Some(Address::Abstract(path[1..].to_vec()))),
            Some(_) => {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                Ok(Some(Address::Path(path[..end].to_vec())))
            }
        }
    }

    /// The sockaddr_un getsockname(2) returns: a path name with its NUL
    /// (length offsetof(sun_path) + strlen + 1), an abstract name with the
    /// length it was bound with.
    pub fn to_sockaddr(addr: Option<&Address>) -> Vec<u8> {
        let mut out = (libc::AF_UNIX as u16).to_le_bytes().to_vec();
        match addr {
            None => {}
            Some(Address::Path(p)) => {
                out.extend_from_slice(p);
                out.push(0);
            }
            Some(Address::Abstract(name)) => {
                out.push(0);
                out.extend_from_slice(name);
            }
        }
        out
    }
}

/// An abstract name and the socket type it was bound for.
type AbstractKey = (i32, Vec<u8>);

/// The sandbox's bound sockets: abstract names (per socket type, as
/// Linux hashes them), and path names by the identity (dev, ino) of the
/// socket file bind made.
#[derive(Default)]
pub struct Names {
    abstract_names: Mutex<HashMap<AbstractKey, Weak<UnixSocket>>>,
    paths: Mutex<HashMap<(u64, u64), Weak<UnixSocket>>>,
    next_auto: Mutex<u32>,
}

impl Names {
    /// Claims abstract name `name` for `sock`; EADDRINUSE if a live socket has it.
    pub fn bind_abstract(&self, name: &[u8], sock: &Arc<UnixSocket>) -> Result<()> {
        let mut names = self.abstract_names.lock().map_err(|_| Errno::EIO)?;
        let key = (sock.kind.linux_type(), name.to_vec());
        if names.get(&key).and_then(live).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        names.retain(|_, w| live(w).is_some());
        names.insert(key, Arc::downgrade(sock));
        Ok(())
    }

    /// An unused abstract name of five hex digits (unix(7) "Autobind feature").
    pub fn autobind(&self, sock: &Arc<UnixSocket>) -> Result<Vec<u8>> {
        for _ in 0..0x10_0000 {
            let n = {
                let mut next = self.next_auto.lock().map_err(|_| Errno::EIO)?;
                *next = (*next + 1) & 0xf_ffff;
                *next
            };
            let name = format!("{n:05x}").into_bytes();
            if self.bind_abstract(&name, sock).is_ok() {
                return Ok(name);
            }
        }
        Err(Errno::ENOSPC)
    }

    /// The socket of type `ty` bound to abstract name `name`.
    pub fn find_abstract(&self, ty: i32, name: &[u8]) -> Option<Arc<UnixSocket>> {
        live(self.abstract_names.lock().ok()?.get(&(ty, name.to_vec()))?)
    }

    pub fn bind_path(&self, key: (u64, u64), sock: &Arc<UnixSocket>) -> Result<()> {
        let mut paths = self.paths.lock().map_err(|_| Errno::EIO)?;
        paths.retain(|_, w| live(w).is_some());
        paths.insert(key, Arc::downgrade(sock));
        Ok(())
    }

    pub fn find_path(&self, key: (u64, u64)) -> Option<Arc<UnixSocket>> {
        live(self.paths.lock().ok()?.get(&key)?)
    }
}
