//! The Unix domain socket as a [`Socket`]: unix(7) names are parsed and
//! looked up here (path names through the VFS), the state machine is
//! `super::unix`.

use super::addr::{Address, SOCKADDR_UN_LEN, SUN_PATH_OFFSET};
use super::options::MAX_BUF;
use super::socket::{family_of, Received, RecvFlags, SendArgs, Socket};
use super::unix::{Kind, UnixSocket};
use super::{SocketInode, Ucred, Wait};
use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemory;
use crate::syscalls::sockaddr_lookup;
use crate::vfs::CreateAttr;
use std::sync::Arc;
use std::time::Duration;

/// Who connects or listens (SO_PEERCRED): the effective ids.
fn caller_peercred(task: &Task) -> Ucred {
    Ucred {
        pid: task.tgid,
        uid: task.creds.fsuid,
        gid: task.creds.fsgid,
    }
}

/// What a message carries by default (scm_send: the real ids).
fn caller_msgcred(task: &Task) -> Ucred {
    Ucred {
        pid: task.tgid,
        uid: task.creds.uid,
        gid: task.creds.gid,
    }
}

/// A sockaddr_un for connect/sendto (unix_validate_addr).
fn unix_name(raw: &[u8]) -> Result<Address> {
    if raw.len() <= SUN_PATH_OFFSET || raw.len() > SOCKADDR_UN_LEN || family_of(raw) != libc::AF_UNIX {
        return Err(Errno::EINVAL);
    }
    Address::parse(raw)?.ok_or(Errno::EINVAL)
}

/// The socket bound to `name`: a path is looked up through the VFS and
/// matched by the socket file's identity (unix(7) "Pathname sockets":
/// connecting needs write permission on it).
/// An abstract name is only found by a socket of the same type.
fn find_socket(task: &Task, name: &Address, kind: Kind) -> Result<Arc<UnixSocket>> {
    let names = &task.kernel.unix_names;
    match name {
        Address::Abstract(n) => names.find_abstract(kind.linux_type(), n).ok_or(Errno::ECONNREFUSED),
        Address::Path(path) => {
            let st = sockaddr_lookup::stat_path(task, path)?;
            sockaddr_lookup::may_write(task, &st)?;
            if st.file_type() != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            names.find_path((st.dev, st.ino)).ok_or(Errno::ECONNREFUSED)
        }
    }
}

/// Creates the socket file of a path bind (mknod S_IFSOCK with the umask
/// applied to 0777); EADDRINUSE if the name exists.
fn make_socket_file(task: &Task, path: &[u8]) -> Result<(u64, u64)> {
    let in_use = |e: Errno| if e == Errno::EEXIST { Errno::EADDRINUSE } else { e };
    let (parent, name) = sockaddr_lookup::new_entry_parent(task, path).map_err(in_use)?;
    let attr = CreateAttr {
        mode: libc::S_IFSOCK | (0o777 & !task.fs().umask),
        uid: task.creds.fsuid,
        gid: task.creds.fsgid,
    };
    parent.inode.mknod(&name, attr, 0).map_err(in_use)?;
    let st = task.fs().lookup_child(&parent, &name)?.inode.stat()?;
    Ok((st.dev, st.ino))
}

impl Socket for UnixSocket {
    fn family(&self) -> i32 {
        libc::AF_UNIX
    }
    fn sock_type(&self) -> i32 {
        self.kind.linux_type()
    }
    fn protocol(&self) -> i32 {
        0
    }
    fn inode(&self) -> &Arc<SocketInode> {
        &self.inode
    }

    fn bind(&self, task: &Task, raw: &[u8]) -> Result<()> {
        // bind with just the family autobinds (unix(7) "Autobind feature").
        let name = if raw.len() == SUN_PATH_OFFSET && family_of(raw) == libc::AF_UNIX {
            None
        } else {
            Some(unix_name(raw)?)
        };
        UnixSocket::bind(self, name, |path| make_socket_file(task, path))
    }

    fn listen(&self, task: &Task, backlog: i32) -> Result<()> {
        UnixSocket::listen(self, backlog, caller_peercred(task))
    }

    fn connect(&self, task: &Task, raw: &[u8], wait: &Wait) -> Result<()> {
        // connect(2): a datagram socket connected to AF_UNSPEC is disconnected.
        if family_of(raw) == libc::AF_UNSPEC && self.kind == Kind::Dgram {
            return self.disconnect();
        }
        let name = unix_name(raw)?;
        let target = find_socket(task, &name, self.kind)?;
        UnixSocket::connect(self, &target, wait, caller_peercred(task))
    }

    fn accept(&self, wait: &Wait) -> Result<Arc<dyn Socket>> {
        let server = UnixSocket::accept(self, wait)?;
        Ok(server)
    }

    fn send(&self, task: Option<&Task>, data: &[u8], args: SendArgs) -> Result<usize> {
        if args.flags & libc::MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let target = match (args.to, task) {
            // unix_stream_sendmsg refuses a destination name.
            (Some(_), _) if self.kind == Kind::Stream => {
                return Err(if self.is_connected() {
                    Errno::EISCONN
                } else {
                    Errno::EOPNOTSUPP
                });
            }
            (Some(raw), Some(task)) if self.kind == Kind::Dgram => {
                Some(find_socket(task, &unix_name(raw)?, self.kind)?)
            }
            _ => None,
        };
        // A write reaching the socket without the writer (FileOps::write)
        // carries the socket owner's ids and no pid.
        let sender = task.map_or(
            Ucred {
                pid: 0,
                uid: self.inode.uid,
                gid: self.inode.gid,
            },
            caller_msgcred,
        );
        UnixSocket::send(self, data, args.ctl, target.as_ref(), &args.wait, sender)
    }

    fn recv(&self, want: usize, flags: RecvFlags, wait: &Wait) -> Result<Received> {
        UnixSocket::recv(self, want, flags, wait)
    }

    fn shutdown(&self, how: i32) -> Result<()> {
        UnixSocket::shutdown(self, how)
    }

    fn local_name(&self) -> Result<Vec<u8>> {
        Ok(Address::to_sockaddr(self.local_address()?.as_ref()))
    }

    fn peer_name(&self) -> Result<Vec<u8>> {
        Ok(Address::to_sockaddr(self.peer_address()?.as_ref()))
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>> {
        if level != libc::SOL_SOCKET {
            return Err(Errno::EOPNOTSUPP);
        }
        UnixSocket::get_option(self, name)
    }

    fn set_option(&self, level: i32, name: i32, val: &[u8]) -> Result<()> {
        if level != libc::SOL_SOCKET {
            return Err(Errno::EOPNOTSUPP);
        }
        UnixSocket::set_option(self, name, val)
    }

    fn readiness(&self, events: i16) -> i16 {
        UnixSocket::readiness(self, events)
    }

    fn ioctl(&self, cmd: u32, arg: u64, mem: &dyn UserMemory) -> Result<u64> {
        match cmd as u64 {
            libc::FIONREAD => {
                let n = self.readable_bytes()? as i32;
                mem.write(arg, &n.to_le_bytes())?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn rcvtimeo(&self) -> Option<Duration> {
        UnixSocket::rcvtimeo(self)
    }

    fn sndtimeo(&self) -> Option<Duration> {
        UnixSocket::sndtimeo(self)
    }

    fn max_message(&self) -> usize {
        if self.kind == Kind::Stream {
            usize::MAX
        } else {
            2 * MAX_BUF
        }
    }

    fn release(&self) {
        UnixSocket::release(self)
    }
}
