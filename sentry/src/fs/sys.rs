//! A minimal sysfs: what glibc and common runtimes read, and nothing of the
//! host's hardware. `devices/system/cpu/{online,possible,present}` give the
//! CPUs the guest sees (glibc's sysconf(_SC_NPROCESSORS_*) reads them),
//! with one `cpuN` directory each; the top-level directories exist, empty.

use super::tmpfs::Tmpfs;
use crate::errno::Result;
use crate::vfs::{CreateAttr, Inode};
use std::sync::Arc;

const DIR: CreateAttr = CreateAttr {
    mode: 0o755,
    uid: 0,
    gid: 0,
};
const FILE: CreateAttr = CreateAttr {
    mode: 0o444,
    uid: 0,
    gid: 0,
};

/// Constructor for `/sys`.
pub struct Sysfs;

impl Sysfs {
    /// A new `/sys` for a guest that sees `cpus` CPUs.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cpus: usize) -> Arc<dyn Inode> {
        let root = Tmpfs::new(None, 0o555);
        if let Err(e) = populate(&root, cpus.max(1)) {
            tracing::warn!("populating /sys: {e}");
        }
        root
    }
}

fn populate(root: &Arc<dyn Inode>, cpus: usize) -> Result<()> {
    for dir in [
        &b"block"[..],
        b"bus",
        b"class",
        b"dev",
        b"devices",
        b"firmware",
        b"fs",
        b"kernel",
        b"module",
    ] {
        root.mkdir(dir, DIR)?;
    }
    root.lookup(b"fs")?.mkdir(b"cgroup", DIR)?;
    let cpu_dir = mkdir_p(root, &[b"devices", b"system", b"cpu"])?;
    let range = if cpus == 1 {
        "0\n".to_string()
    } else {
        format!("0-{}\n", cpus - 1)
    };
    for name in [&b"online"[..], b"possible", b"present"] {
        write_file(&cpu_dir, name, range.as_bytes())?;
    }
    for n in 0..cpus {
        cpu_dir.mkdir(format!("cpu{n}").as_bytes(), DIR)?;
    }
    Ok(())
}

/// `root/a/b/c`, made where missing.
fn mkdir_p(root: &Arc<dyn Inode>, parts: &[&[u8]]) -> Result<Arc<dyn Inode>> {
    let mut dir = Arc::clone(root);
    for part in parts {
        dir = match dir.lookup(part) {
            Ok(d) => d,
            Err(_) => {
                dir.mkdir(part, DIR)?;
                dir.lookup(part)?
            }
        };
    }
    Ok(dir)
}

fn write_file(dir: &Arc<dyn Inode>, name: &[u8], content: &[u8]) -> Result<()> {
    let file = dir.create(name, FILE)?;
    file.open(libc::O_WRONLY)?.write(content, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ranges_and_directories() {
        let sys = Sysfs::new(4);
        let cpu = sys
            .lookup(b"devices")
            .unwrap()
            .lookup(b"system")
            .unwrap()
            .lookup(b"cpu")
            .unwrap();
        let mut buf = [0u8; 16];
        let n = cpu
            .lookup(b"online")
            .unwrap()
            .open(libc::O_RDONLY)
            .unwrap()
            .read(&mut buf, 0)
            .unwrap();
        assert_eq!(&buf[..n], b"0-3\n");
        assert!(cpu.lookup(b"cpu3").unwrap().stat().unwrap().is_dir());
        assert!(cpu.lookup(b"cpu4").is_err());
        let one = Sysfs::new(1);
        let cpu = one
            .lookup(b"devices")
            .unwrap()
            .lookup(b"system")
            .unwrap()
            .lookup(b"cpu")
            .unwrap();
        let n = cpu
            .lookup(b"possible")
            .unwrap()
            .open(libc::O_RDONLY)
            .unwrap()
            .read(&mut buf, 0)
            .unwrap();
        assert_eq!(&buf[..n], b"0\n");
    }
}
