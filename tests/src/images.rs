//! Container images built locally (no registry is reachable in CI): a
//! busybox root file system from the host's busybox-static, as a plain tar
//! (`docker import`, `podman import`) and as an OCI archive named
//! [`BUSYBOX_REF`] (`ctr images import`, `podman load`), made with umoci
//! and skopeo. Built once into `target/images/busybox/` and reused.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{run, target_dir, unique_name};

/// The name the OCI archive carries (and `docker import` is given).
pub const BUSYBOX_REF: &str = "localhost/runsc-test-busybox:latest";

/// The host binary the image is made of (Debian's busybox-static).
const BUSYBOX: &str = "/bin/busybox";

/// What [`busybox`] built.
#[derive(Debug)]
pub struct BusyboxImage {
    /// The unpacked root file system.
    pub rootfs: PathBuf,
    /// A tar of the root file system.
    pub rootfs_tar: PathBuf,
    /// An OCI image archive named [`BUSYBOX_REF`].
    pub oci_archive: PathBuf,
}

/// The busybox image, built on first use (needs busybox-static, umoci and
/// skopeo; see [`crate::daemons::require_tools`]). Safe across parallel test
/// processes: each builds in a private directory and renames it into place.
pub fn busybox() -> &'static BusyboxImage {
    static IMAGE: OnceLock<BusyboxImage> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = target_dir().join("images").join("busybox");
        if !dir.join("done").exists() {
            build(&dir);
        }
        BusyboxImage {
            rootfs: dir.join("rootfs"),
            rootfs_tar: dir.join("busybox-rootfs.tar"),
            oci_archive: dir.join("busybox-oci.tar"),
        }
    })
}

fn build(dir: &Path) {
    let parent = dir.parent().expect("images dir");
    fs::create_dir_all(parent).expect("mkdir target/images");
    let tmp = parent.join(format!(".{}", unique_name("busybox-build")));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).expect("mkdir build dir");
    make_rootfs(&tmp.join("rootfs"));
    sh(&tmp, &["tar", "-C", "rootfs", "-cf", "busybox-rootfs.tar", "."]);
    sh(&tmp, &["umoci", "init", "--layout", "oci"]);
    sh(&tmp, &["umoci", "new", "--image", "oci:busybox"]);
    sh(&tmp, &["umoci", "insert", "--image", "oci:busybox", "rootfs", "/"]);
    sh(
        &tmp,
        &[
            "umoci",
            "config",
            "--image",
            "oci:busybox",
            "--config.cmd",
            "/bin/sh",
            "--config.env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--architecture",
            "amd64",
            "--os",
            "linux",
        ],
    );
    let dest = format!("oci-archive:busybox-oci.tar:{BUSYBOX_REF}");
    sh(&tmp, &["skopeo", "copy", "oci:oci:busybox", &dest]);
    fs::remove_dir_all(tmp.join("oci")).expect("removing the layout");
    fs::write(tmp.join("done"), "").expect("marking the image done");
    // Another process may have finished first; its copy is as good.
    if fs::rename(&tmp, dir).is_err() {
        let _ = fs::remove_dir_all(&tmp);
        assert!(
            dir.join("done").exists(),
            "cannot move the image into {}",
            dir.display()
        );
    }
}

/// bin/ with busybox and a link per applet, /etc/passwd and /etc/group,
/// the usual empty mount points and a 1777 /tmp.
fn make_rootfs(root: &Path) {
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        fs::create_dir_all(root.join(d)).expect("mkdir in rootfs");
    }
    fs::copy(BUSYBOX, root.join("bin/busybox")).unwrap_or_else(|e| panic!("copying {BUSYBOX}: {e}"));
    let list = run(
        {
            let mut c = Command::new(BUSYBOX);
            c.arg("--list");
            c
        },
        Duration::from_secs(30),
    );
    assert!(list.success(), "{list}");
    for applet in list.stdout_str().lines().filter(|a| !a.is_empty() && *a != "busybox") {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("applet link");
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("passwd");
    fs::write(root.join("etc/group"), "root:x:0:\n").expect("group");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod /tmp");
}

fn sh(cwd: &Path, argv: &[&str]) {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).current_dir(cwd);
    let out = run(cmd, Duration::from_secs(120));
    assert!(out.success(), "building the busybox image failed\n{out}");
}
