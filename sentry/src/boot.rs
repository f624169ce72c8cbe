//! Building a sandbox: the kernel, the mount tree, the init task's files
//! and the first execve.

use crate::errno::Errno;
use crate::fs::{dev::Devfs, devpts::Devpts, host::HostInode, overlay::Overlay, tmpfs::Tmpfs};
use crate::kernel::procinfo::KernelProc;
use crate::kernel::stdio::{HostFdInode, HostStream};
use crate::kernel::task::Credentials;
use crate::kernel::{Kernel, Task};
use crate::mm::MemoryFile;
use crate::sandbox::{Config, ContainerConfig, Error, ExecConfig};
use crate::vfs::dentry::Mount;
use crate::vfs::resolve::FsContext;
use crate::vfs::{Dentry, FdTable, Inode, MountTable, OpenFile};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

/// Creates the kernel and the init task, and loads its executable.
pub fn init_task(mut config: Config) -> Result<Task, Error> {
    let platform = platform::new(config.platform)?;
    let memfile = Arc::new(MemoryFile::new().map_err(|e| Error::Setup(format!("memory file: {e}")))?);
    let mounts = Arc::new(MountTable::default());
    let read_only = config.root_readonly || config.overlay;
    let lower = root_filesystem(config.gofer.take(), &config.rootfs, read_only)?;
    let root_inode = if config.overlay && !config.root_readonly {
        Overlay::new(lower, Tmpfs::new(None, 0o755))
    } else {
        lower
    };
    let fs_type = if config.overlay { "overlay" } else { "9p" };
    let mut kernel = Kernel::new(platform, memfile, mounts.clone(), &config.hostname, config.strace);
    kernel.network = Arc::new(std::mem::replace(
        &mut config.network,
        crate::net::inet::iface::Network::loopback_only(),
    ));
    kernel.host_network = config.host_network;
    let nics = std::mem::take(&mut config.nics);
    let has_nics = !nics.is_empty();
    crate::net::inet::stack::configure((*kernel.network).clone(), nics);
    if has_nics {
        // Taken-over interfaces answer ARP, neighbour discovery and ping
        // from the start, before the guest makes its first socket.
        crate::net::inet::stack::Stack::global().map_err(|e| Error::Setup(format!("network stack: {e:?}")))?;
    }
    let kernel = Arc::new(kernel);
    let bind_gofers = std::mem::take(&mut config.bind_gofers);
    let root = ContainerRoot {
        inode: root_inode,
        fs_type,
        read_only: config.root_readonly,
    };
    let fs = container_fs(&kernel, mounts, root, &config.mounts, bind_gofers)?;
    let process = ExecConfig {
        args: config.args,
        env: config.env,
        cwd: config.cwd,
        uid: config.uid,
        gid: config.gid,
        additional_gids: config.additional_gids,
        capabilities: config.capabilities,
        rlimits: config.rlimits,
        no_new_privileges: config.no_new_privileges,
        stdio: config.stdio,
        preserved_fds: config.preserved_fds,
        terminal: config.terminal,
    };
    load_process(kernel, fs, process)
}

/// The init task of a further container in a running sandbox (a pod's app
/// container): a mount table of its own, rooted at its own gofer's tree,
/// with its own /dev, /proc and spec mounts, in the sandbox's kernel (one
/// pid space, one network and IPC). Loaded, not yet running.
pub fn container_task(kernel: Arc<Kernel>, mut config: ContainerConfig) -> Result<Task, Error> {
    let inode = root_filesystem(config.gofer.take(), &config.rootfs, config.root_readonly)?;
    let root = ContainerRoot {
        inode,
        fs_type: "9p",
        read_only: config.root_readonly,
    };
    let bind_gofers = std::mem::take(&mut config.bind_gofers);
    let mounts = Arc::new(MountTable::default());
    let fs = container_fs(&kernel, mounts, root, &config.mounts, bind_gofers)?;
    load_process(kernel, fs, config.process)
}

/// A container's root filesystem as it is mounted on `/`.
struct ContainerRoot {
    inode: Arc<dyn Inode>,
    fs_type: &'static str,
    read_only: bool,
}

/// Fills `mounts` with a container's tree (its root, the sandbox's /dev,
/// the spec's mounts, /proc) and returns a file-system context at its root.
fn container_fs(
    kernel: &Arc<Kernel>,
    mounts: Arc<MountTable>,
    root: ContainerRoot,
    spec_mounts: &[crate::sandbox::MountConfig],
    bind_gofers: Vec<OwnedFd>,
) -> Result<FsContext, Error> {
    mounts.mount(b"/", Mount::new(root.inode.clone(), root.fs_type, root.read_only));
    mount_pseudo_filesystems(&mounts);
    let proc_source: Arc<dyn crate::fs::proc::ProcSource> = Arc::new(KernelProc(Arc::downgrade(kernel)));
    apply_mounts(&mounts, spec_mounts, bind_gofers, &proc_source)?;
    mounts.mount(
        b"/proc",
        Mount {
            nosuid: true,
            noexec: true,
            nodev: true,
            ..Mount::new(crate::fs::proc::new(proc_source.clone()), "proc", false)
        },
    );
    let dentry = Dentry::root(root.inode);
    Ok(FsContext {
        root: dentry.clone(),
        cwd: dentry,
        mounts,
        umask: 0o022,
        searcher: None,
        limits: Default::default(),
    })
}

/// Creates a new process in a running sandbox (`runsc exec`): a thread
/// group of its own in the sandbox's pid namespace, with no parent (like
/// the init, it is the child of no guest process), seeing the mounts of
/// the container whose table is `mounts` from its root.
pub fn exec_task(kernel: Arc<Kernel>, mounts: Arc<MountTable>, config: ExecConfig) -> Result<Task, Error> {
    let root_mount = mounts
        .at(b"/")
        .ok_or_else(|| Error::Setup("the container has no root mount".into()))?;
    let root = Dentry::root(root_mount.root);
    let fs = FsContext {
        root: root.clone(),
        cwd: root,
        mounts,
        umask: 0o022,
        searcher: None,
        limits: Default::default(),
    };
    load_process(kernel, fs, config)
}

/// A new parentless task running `config`'s executable with its
/// credentials, limits and stdio; `fs.cwd` starts at the root.
fn load_process(kernel: Arc<Kernel>, mut fs: FsContext, config: ExecConfig) -> Result<Task, Error> {
    let root = fs.root.clone();
    fs.cwd = fs
        .resolve(&root, config.cwd.as_bytes(), true)
        .map_err(|e| Error::Setup(format!("working directory {:?}: {e}", config.cwd)))?;
    let (fds, terminal) = if config.terminal {
        let (fds, master) = terminal_stdio(&fs, config.stdio, config.uid, config.gid)?;
        (fds, Some(master))
    } else {
        let fds = stdio_table(config.stdio).map_err(|e| Error::Setup(format!("stdio: {e}")))?;
        (fds, None)
    };
    crate::kernel::preserved::install(&fds, config.preserved_fds)
        .map_err(|e| Error::Setup(format!("preserved fds: {e}")))?;
    let mut creds = Credentials::new(config.uid, config.gid);
    creds.groups = config.additional_gids.clone();
    if let Some(caps) = config.capabilities {
        creds.cap_bounding = caps.bounding;
        creds.cap_effective = caps.effective;
        creds.cap_permitted = caps.permitted;
        creds.cap_inheritable = caps.inheritable;
    }
    let first = config
        .args
        .first()
        .ok_or_else(|| Error::Setup("process.args is empty".into()))?;
    let path = find_executable(&fs, first, &config.env).ok_or_else(|| Error::NotFound {
        path: first.clone(),
        errno: std::io::Error::from_raw_os_error(libc::ENOENT),
    })?;
    let mut task = Task::new_init(kernel, fs, fds, creds).map_err(|e| Error::Setup(format!("init task: {e}")))?;
    match &terminal {
        Some(master) => {
            // The process is a session leader without a terminal yet.
            crate::fs::tty::ctty::tiocsctty(&task, &master.tty, false)
                .map_err(|e| Error::Setup(format!("controlling terminal: {e}")))?;
        }
        None => adopt_host_terminal(&task),
    }
    let argv: Vec<Vec<u8>> = config.args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let env: Vec<Vec<u8>> = config.env.iter().map(|e| e.as_bytes().to_vec()).collect();
    for &(resource, soft, hard) in &config.rlimits {
        if let Some(limit) = task.rlimits.get_mut(resource as usize) {
            *limit = (soft, hard);
        }
        if resource == libc::RLIMIT_NOFILE {
            task.fds.set_limit(soft);
        }
    }
    task.no_new_privs = config.no_new_privileges;
    if let Err(e) = task.exec(&path, argv, env) {
        forget_unborn(&task);
        return Err(exec_error(first, e));
    }
    Ok(task)
}

/// Removes a task whose first execve failed from the kernel's tables, as
/// if it had never been created (an exec'd process that could not start
/// must not linger as a live process).
fn forget_unborn(task: &Task) {
    let kernel = &task.kernel;
    let pid = task.tgid;
    kernel
        .processes
        .exit(pid, crate::sandbox::ExitStatus::Exited(127), &|_| false, &|_| false);
    kernel.processes.reap(pid);
    kernel.proc_attrs.take_exited_cpu(pid);
    if let Ok(mut queues) = kernel.signal_queues.lock() {
        queues.remove(&pid);
    }
    if let Ok(mut groups) = kernel.groups.lock() {
        groups.remove(&pid);
    }
    // new_init made it the leader of a session of its own.
    crate::fs::tty::ctty::session_leader_exited(kernel, task.sid);
}

fn exec_error(path: &str, e: Errno) -> Error {
    let errno = std::io::Error::from_raw_os_error(e.0);
    match e {
        Errno::ENOENT | Errno::ENOTDIR => Error::NotFound {
            path: path.into(),
            errno,
        },
        _ => Error::NotExecutable {
            path: path.into(),
            errno,
        },
    }
}

fn root_filesystem(gofer: Option<OwnedFd>, rootfs: &std::path::Path, read_only: bool) -> Result<Arc<dyn Inode>, Error> {
    let server: Arc<dyn gofer::FileServer> = match gofer {
        Some(fd) => Arc::new(
            gofer::RemoteServer::new(std::os::unix::net::UnixStream::from(fd))
                .map_err(|e| Error::Setup(format!("gofer connection: {e}")))?,
        ),
        None => Arc::new(
            gofer::LocalServer::new(rootfs, read_only)
                .map_err(|e| Error::Setup(format!("rootfs {}: {e}", rootfs.display())))?,
        ),
    };
    if read_only && !server.read_only() {
        return Err(Error::Setup(
            "the gofer serves the root writable but it must be read-only".into(),
        ));
    }
    // The container owns its rootfs: cache lookups and stats.
    Ok(HostInode::root_exclusive(server))
}

/// /dev and friends: the sandbox's own, never the host's.
fn mount_pseudo_filesystems(mounts: &MountTable) {
    mounts.mount(
        b"/dev",
        Mount {
            nosuid: true,
            ..Mount::new(Devfs::new(), "tmpfs", false)
        },
    );
    mounts.mount(
        b"/dev/pts",
        Mount {
            nosuid: true,
            noexec: true,
            ..Mount::new(Devpts::new().root(), "devpts", false)
        },
    );
    mounts.mount(
        b"/dev/shm",
        Mount {
            nosuid: true,
            nodev: true,
            ..Mount::new(Tmpfs::new(None, 0o1777), "tmpfs", false)
        },
    );
}

/// The OCI spec's mounts, in order, over the defaults.
fn apply_mounts(
    table: &MountTable,
    mounts: &[crate::sandbox::MountConfig],
    bind_gofers: Vec<std::os::fd::OwnedFd>,
    proc_source: &Arc<dyn crate::fs::proc::ProcSource>,
) -> Result<(), Error> {
    use crate::sandbox::MountKind;
    let mut bind_gofers = bind_gofers.into_iter();
    for m in mounts {
        let (root, fs_type): (Arc<dyn Inode>, &str) = match &m.kind {
            MountKind::Tmpfs { size, mode } => (Tmpfs::new(*size, mode.unwrap_or(0o1777)), "tmpfs"),
            MountKind::Proc => (crate::fs::proc::new(proc_source.clone()), "proc"),
            MountKind::Dev => (Devfs::new(), "tmpfs"),
            MountKind::Devpts => (Devpts::new().root(), "devpts"),
            MountKind::Sysfs => (
                crate::fs::sys::Sysfs::new(crate::fs::proc_sys::allowed_cpu_count()),
                "sysfs",
            ),
            MountKind::Bind { source, file, .. } => {
                let root = match bind_gofers.next() {
                    Some(conn) => remote_bind(conn, source, *file, m.read_only)?,
                    None => bind_source(source, m.read_only)?,
                };
                (root, "bind")
            }
        };
        let path = normalize_mount_path(&m.destination)
            .ok_or_else(|| Error::Setup(format!("mount destination {:?} is not absolute", m.destination)))?;
        let path = prepare_mount_point(table, &path);
        table.mount(
            &path,
            Mount {
                nosuid: m.nosuid,
                noexec: m.noexec,
                nodev: m.nodev,
                ..Mount::new(root, fs_type, m.read_only)
            },
        );
    }
    Ok(())
}

/// Where a mount at `path` goes, made reachable, as runc prepares a mount
/// point: the directories above it are resolved in the container's tree,
/// following symlinks inside the root (`/sbin/x` with `/sbin -> usr/sbin`
/// mounts at `/usr/sbin/x`; `..` stops at the root), and those missing are
/// made (`mkdir -p`), so that `docker run --init` (docker-init bound at
/// /sbin/docker-init) and a volume at a new path work. A missing directory
/// is made in the filesystem that holds it or, where that refuses (a
/// read-only root), is an empty read-only tmpfs mounted in its place. The
/// last component is not resolved: the mount covers whatever is there.
fn prepare_mount_point(table: &MountTable, path: &[u8]) -> Vec<u8> {
    const MAX_LINKS: u32 = 40;
    let Some(root) = table.at(b"/").map(|m| m.root) else {
        return path.to_vec();
    };
    let mut pending: std::collections::VecDeque<Vec<u8>> = components(path).collect();
    let mut resolved: Vec<Vec<u8>> = Vec::new();
    // dirs[i]: the inode of the first i resolved components.
    let mut dirs: Vec<Arc<dyn Inode>> = vec![root];
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == b".." {
            if resolved.pop().is_some() {
                dirs.pop();
            }
            continue;
        }
        if pending.is_empty() {
            resolved.push(name);
            break;
        }
        let prefix = join_path(resolved.iter().chain(std::iter::once(&name)));
        let mounted = table.at(&prefix).map(|m| m.root);
        let Some(dir) = dirs.last().cloned() else { break };
        let child = match mounted.clone() {
            Some(mount_root) => mount_root,
            None => match existing_or_new_dir(table, &dir, &name, &prefix) {
                Some(child) => child,
                // A file in the way: the mount stays unreachable, as before.
                None => {
                    resolved.push(name);
                    resolved.extend(pending.drain(..));
                    break;
                }
            },
        };
        if mounted.is_none() && links < MAX_LINKS && child.stat().is_ok_and(|st| st.is_symlink()) {
            if let Ok(target) = child.readlink() {
                links += 1;
                if target.first() == Some(&b'/') {
                    resolved.clear();
                    dirs.truncate(1);
                }
                for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
                    pending.push_front(part);
                }
                continue;
            }
        }
        resolved.push(name);
        dirs.push(child);
    }
    join_path(resolved.iter())
}

/// `dir`'s entry `name`; when missing, a new directory made in `dir`, or
/// an empty read-only tmpfs mounted at `prefix` when `dir` refuses. None
/// for any other failure.
fn existing_or_new_dir(table: &MountTable, dir: &Arc<dyn Inode>, name: &[u8], prefix: &[u8]) -> Option<Arc<dyn Inode>> {
    match dir.lookup(name) {
        Ok(child) => Some(child),
        Err(Errno::ENOENT) => {
            let attr = crate::vfs::CreateAttr {
                mode: 0o755,
                uid: 0,
                gid: 0,
            };
            match dir.mkdir(name, attr).and_then(|()| dir.lookup(name)) {
                Ok(child) => Some(child),
                Err(_) => {
                    let tmpfs: Arc<dyn Inode> = Tmpfs::new(None, 0o755);
                    table.mount(prefix, Mount::new(tmpfs.clone(), "tmpfs", true));
                    Some(tmpfs)
                }
            }
        }
        Err(_) => None,
    }
}

/// The non-empty components of a path other than ".".
fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&c| c == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
}

/// "/a/b" from ["a", "b"]; "/" from none.
fn join_path<'a>(parts: impl Iterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut path = Vec::new();
    for part in parts {
        path.push(b'/');
        path.extend_from_slice(part);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

/// "/a//b/" -> "/a/b"; None for relative paths.
fn normalize_mount_path(dest: &str) -> Option<Vec<u8>> {
    if !dest.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = dest.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.contains(&"..") {
        return None;
    }
    Some(format!("/{}", parts.join("/")).into_bytes())
}

/// A bind mount served by the gofer on `conn` (a directory holding only
/// [`gofer::SINGLE_FILE_NAME`] when the source is a file).
fn remote_bind(conn: OwnedFd, source: &std::path::Path, file: bool, read_only: bool) -> Result<Arc<dyn Inode>, Error> {
    let err = |e: String| Error::Setup(format!("bind mount source {}: {e}", source.display()));
    let server =
        gofer::RemoteServer::new(std::os::unix::net::UnixStream::from(conn)).map_err(|e| err(e.to_string()))?;
    if read_only && !gofer::FileServer::read_only(&server) {
        return Err(err("the gofer serves it writable but it must be read-only".into()));
    }
    let root = HostInode::root(Arc::new(server));
    if !file {
        return Ok(root);
    }
    root.lookup(gofer::SINGLE_FILE_NAME.as_bytes())
        .map_err(|e| err(e.to_string()))
}

/// A host directory or file, served from this process (tests and tools
/// without a gofer).
fn bind_source(source: &std::path::Path, read_only: bool) -> Result<Arc<dyn Inode>, Error> {
    let err = |e: std::io::Error| Error::Setup(format!("bind mount source {}: {e}", source.display()));
    if source.is_dir() {
        let server = gofer::LocalServer::new(source, read_only).map_err(err)?;
        return Ok(HostInode::root(Arc::new(server)));
    }
    // A single file: serve its directory and look the file up in it.
    let (dir, name) = match (source.parent(), source.file_name()) {
        (Some(dir), Some(name)) => (dir, name),
        _ => {
            return Err(Error::Setup(format!(
                "bind mount source {} is not a file or directory",
                source.display()
            )))
        }
    };
    let server = gofer::LocalServer::new(dir, read_only).map_err(err)?;
    use std::os::unix::ffi::OsStrExt;
    HostInode::root(Arc::new(server))
        .lookup(name.as_bytes())
        .map_err(|e| Error::Setup(format!("bind mount source {}: {e}", source.display())))
}

/// When the container's stdio is a host terminal (runsc's console), it is
/// the init session's controlling terminal: /dev/tty opens it.
fn adopt_host_terminal(task: &Task) {
    for fd in 0..3 {
        let Ok(file) = task.fds.get(fd) else { continue };
        let Some(host) = file.ops.host_fd() else { continue };
        // SAFETY: isatty only inspects the fd.
        if unsafe { libc::isatty(host) } == 1 {
            let ctty = crate::fs::tty::ctty::Controlling::Host(file.ops.clone());
            task.kernel.ttys.set(task.sid, ctty);
            return;
        }
    }
}

/// fds 0, 1, 2 on a new pty of the container's devpts (/dev/pts), its
/// slave owned by `uid`:`gid`, relayed to the host terminal `stdio`
/// (OCI `process.terminal`). Returns the table and the master.
fn terminal_stdio(
    fs: &FsContext,
    stdio: [OwnedFd; 3],
    uid: u32,
    gid: u32,
) -> Result<(FdTable, Arc<crate::fs::tty::MasterEnd>), Error> {
    let err = |what: &str, e: Errno| Error::Setup(format!("terminal: {what}: {e}"));
    let master = container_devpts(fs)
        .open_master(uid, gid)
        .map_err(|e| err("new pty", e))?;
    let [host_in, host_out, _host_err] = stdio;
    crate::fs::tty::relay::adopt_host_settings(&master, host_in.as_raw_fd()).map_err(|e| err("settings", e))?;
    let slave: Arc<dyn crate::vfs::FileOps> = master.tty.open_slave(false).map_err(|e| err("slave", e))?;
    let file = OpenFile::new(crate::fs::devpts::slave_dentry(&master.tty), slave, libc::O_RDWR);
    let fds = FdTable::default();
    for fd in 0..3 {
        fds.insert_at(fd, file.clone(), false).map_err(|e| err("stdio", e))?;
    }
    crate::fs::tty::relay::start(master.clone(), host_in, host_out).map_err(|e| err("relay", e))?;
    Ok((fds, master))
}

/// The devpts mounted at the container's /dev/pts; a spec that mounts
/// none there gets a private one (its terminals then have no node).
fn container_devpts(fs: &FsContext) -> Arc<Devpts> {
    let mounted = fs
        .resolve(&fs.root, b"/dev/pts", true)
        .ok()
        .and_then(|pts| crate::fs::devpts::of_root(&pts.inode));
    mounted.unwrap_or_else(|| {
        tracing::debug!("no devpts at /dev/pts: the terminal gets a private one");
        Devpts::new()
    })
}

/// fds 0, 1, 2 from the host fds the runtime handed us.
fn stdio_table(stdio: [OwnedFd; 3]) -> Result<FdTable, Errno> {
    let fds = FdTable::default();
    for (guest_fd, host) in stdio.into_iter().enumerate() {
        // SAFETY: F_GETFL on an fd we own.
        let flags = unsafe { libc::fcntl(host.as_raw_fd(), libc::F_GETFL) };
        let flags = if flags < 0 {
            libc::O_RDWR
        } else {
            flags & (libc::O_ACCMODE | libc::O_APPEND)
        };
        let stream = HostStream::new(host);
        let name = host_stdio_name(&stream, guest_fd);
        let inode = Arc::new(HostFdInode { ops: stream.clone() });
        let dentry = Arc::new(Dentry {
            path: name.into_bytes(),
            parent: None,
            inode,
        });
        fds.insert_at(guest_fd as i32, OpenFile::new(dentry, stream, flags), false)?;
    }
    Ok(fds)
}

/// What /proc/PID/fd/N shows for a host stdio fd.
fn host_stdio_name(stream: &HostStream, guest_fd: usize) -> String {
    crate::kernel::preserved::host_fd_name(stream.host_stat().ok().as_ref(), guest_fd as i32)
}

/// execvp(3)'s search: a name without '/' is looked up in $PATH.
fn find_executable(fs: &FsContext, name: &str, env: &[String]) -> Option<Vec<u8>> {
    if name.contains('/') {
        return Some(name.as_bytes().to_vec());
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path_var.split(':').filter(|d| !d.is_empty()).find_map(|dir| {
        let candidate = format!("{dir}/{name}").into_bytes();
        let d = fs.resolve(&fs.cwd, &candidate, true).ok()?;
        let st = d.inode.stat().ok()?;
        (st.is_regular() && st.mode & 0o111 != 0).then_some(candidate)
    })
}
