//! Acceptance of the file system work on a real distribution: programs of a
//! Debian 12 root file system (debootstrap minbase with python3, built by
//! `tests/rootfs/debian`) print the same in the sandbox (`runsc run` with the
//! tree as a read-only root, proc on /proc and tmpfs on /tmp) as natively, in a
//! chroot of the same tree with the same mounts.

use std::process::Command;

use runsc_tests::images::{debian_bundle, debian_rootfs, DEBIAN_PATH};
use runsc_tests::{assert_same_as_native, default_timeout, run, Output, Runsc};

/// `sh -c SCRIPT` in a chroot of the rootfs, in a private mount namespace with
/// proc on /proc and a fresh tmpfs on /tmp, and only PATH in the environment.
fn native_sh(script: &str) -> Output {
    let root = debian_rootfs().display().to_string();
    let setup = format!(
        "mount -t proc proc '{root}/proc' && mount -t tmpfs tmpfs '{root}/tmp' && \
         exec chroot '{root}' /usr/bin/env -i {DEBIAN_PATH} /bin/sh -c \"$0\""
    );
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        &setup,
        script,
    ]);
    run(cmd, default_timeout())
}

/// `sh -c SCRIPT` as a container whose read-only root is the rootfs.
fn sandboxed_sh(script: &str) -> Output {
    let bundle = debian_bundle(script);
    let runsc = Runsc::new();
    let id = runsc.new_id("debian");
    runsc.run_bundle(&bundle, &id)
}

/// Runs `script` both ways and asserts the same stdout and exit status.
fn same_as_chroot(script: &str) {
    let native = native_sh(script);
    assert!(native.success(), "native run of {script:?} failed\n{native}");
    let sandboxed = sandboxed_sh(script);
    assert_same_as_native(&native, &sandboxed, script);
}

#[test]
fn python_lists_root_and_its_fds() {
    // Through `| cat` so that python's stdout is a pipe both ways; its stdin is
    // /dev/null. ls's dates and the pipe's inode numbers are masked.
    same_as_chroot(
        "python3 -c \"import os,json,subprocess;print(json.dumps(sorted(os.listdir('/'))), flush=True);\
         subprocess.run(['ls','-l','/proc/self/fd'])\" 2>&1 | \
         sed -E 's/[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}/DATE/; s/:\\[[0-9]+\\]/:[N]/; s#/proc/[0-9]+/#/proc/PID/#'",
    );
}

#[test]
fn tar_round_trip_in_tmp() {
    same_as_chroot(
        "cd /tmp && tar czf x.tgz /etc 2>/dev/null && tar tzf x.tgz | wc -l && tar tzf x.tgz | sort | md5sum",
    );
}

#[test]
fn find_shared_objects() {
    same_as_chroot("find /usr -name '*.so*' | wc -l && find /usr -name '*.so*' | sort | md5sum");
}

#[test]
fn sort_sed_grep() {
    same_as_chroot(
        "sort -t: -k3 -n /etc/passwd | sed -e 's/:.*//' -e 's/^/user /' && \
         grep -r -l root /etc 2>/dev/null | sort && grep -rc bash /etc/passwd /etc/shells",
    );
}

#[test]
fn python_subprocess_pipeline_and_files() {
    same_as_chroot(
        "cd /tmp && python3 -c \"\
import subprocess, os, hashlib, tempfile
d = tempfile.mkdtemp()
for i in range(50):
    open(os.path.join(d, 'f%02d' % i), 'w').write(str(i) * i)
out = subprocess.run(['sh', '-c', 'ls | sort -r | head -3; cat f49 | wc -c'], cwd=d, capture_output=True, text=True).stdout
print(out, end='')
print(hashlib.sha256(open('/etc/passwd','rb').read()).hexdigest())
os.rename(os.path.join(d, 'f00'), os.path.join(d, 'g00'))
print(sorted(os.listdir(d))[:2], os.stat(os.path.join(d, 'f10')).st_size)
\"",
    );
}
