//! The receiving end of runsc's `--console-socket`: a unix socket server that
//! accepts runsc's one connection and takes the pty master it sends with
//! SCM_RIGHTS, as containerd's shim does (runc's console socket protocol).

use std::fs::File;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::thread::JoinHandle;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

use crate::{Bundle, Runsc};

/// Binds a new console socket at `path` (before runsc is started) and, on
/// a thread, accepts one connection and returns the pty master sent over
/// it; panics unless exactly one fd arrives.
pub fn console_receiver(path: &Path) -> JoinHandle<OwnedFd> {
    let listener = UnixListener::bind(path).expect("bind the console socket");
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 256];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg =
            recvmsg::<UnixAddr>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty()).expect("recvmsg");
        let mut fds = Vec::new();
        for cmsg in msg.cmsgs().expect("cmsgs") {
            if let ControlMessageOwned::ScmRights(received) = cmsg {
                fds.extend(received);
            }
        }
        assert_eq!(fds.len(), 1, "one pty master");
        owned_received_fd(fds[0])
    })
}

#[allow(unsafe_code)]
fn owned_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the fd was just received over SCM_RIGHTS; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Everything a pty master reads until the last slave closes (the read
/// fails with EIO) or reads end, as text (lossy).
pub fn read_to_hangup(master: OwnedFd) -> String {
    let mut master = File::from(master);
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// `runsc exec --tty --detach --console-socket SOCKET ID COMMAND...`, which
/// must succeed: what the process's terminal shows until it ends.
pub fn exec_on_a_tty(runsc: &Runsc, id: &str, socket: &Path, command: &[&str]) -> String {
    let receiver = console_receiver(socket);
    let socket = socket.to_str().expect("utf-8 socket path");
    let mut args = vec!["exec", "--tty", "--detach", "--console-socket", socket, id];
    args.extend_from_slice(command);
    let out = runsc.run(args);
    assert!(out.success(), "runsc exec --tty\n{out}");
    read_to_hangup(receiver.join().expect("console receiver"))
}

/// `runsc create --bundle B --console-socket B/console.sock EXTRA... ID`
/// then `runsc start ID`, both of which must succeed, for a bundle whose
/// process has a terminal: the pty master runsc sent.
pub fn create_and_start_on_a_tty(runsc: &Runsc, bundle: &Bundle, id: &str, extra: &[&str]) -> OwnedFd {
    let socket = bundle.path().join("console.sock");
    let receiver = console_receiver(&socket);
    let mut args = vec!["--console-socket", socket.to_str().expect("utf-8 socket path")];
    args.extend_from_slice(extra);
    let out = runsc.create(bundle, id, &args);
    assert!(out.success(), "runsc create\n{out}");
    let master = receiver.join().expect("console receiver");
    let out = runsc.run(["start", id]);
    assert!(out.success(), "runsc start\n{out}");
    master
}
