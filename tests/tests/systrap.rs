//! The systrap platform against hostile and heavy guests, next to ptrace.
//!
//! - `systrap_attacks.c` attacks the platform from guest code, each attack
//!   in a child process: it finds the stub page and control region (the
//!   top of the address space the Sentry hands out), checks /proc/self/maps
//!   does not show them, scribbles over the control region, jumps into
//!   every syscall instruction of the stub page, installs its own SIGSYS
//!   handler, blocks SIGSYS, makes a forged rt_sigreturn, and installs its
//!   own seccomp filter. No attack may reach the host with an unfiltered
//!   syscall (getpid/getppid would show host pids), and the sandbox must
//!   keep serving the parent afterwards. The platform's unit tests cover
//!   the stub's side (`platform/src/systrap/tests.rs`: a guest in the stub
//!   page cannot make host syscalls, hijacking the stub to ignore
//!   interrupts gets it killed, stub syscalls are checked against their
//!   arguments, int 0x80 kills).
//! - `mt_mmap_stress.c` runs threads that map, write, protect and unmap
//!   memory while others share anonymous and file-backed MAP_SHARED pages
//!   with each other and with a forked process, for 10 seconds, and checks
//!   that no word is ever lost or goes back.

use runsc_tests::{compile, Link, Output, Runsc};

const PLATFORMS: [&str; 2] = ["systrap", "ptrace"];

fn runsc_do(platform: &str, args: &[&str]) -> Output {
    let mut argv = vec!["do", "--"];
    argv.extend_from_slice(args);
    Runsc::on_platform(platform).run(argv)
}

#[test]
fn guest_attacks_on_the_platform_are_contained() {
    let exe = compile("systrap_attacks", Link::Static);
    let exe = exe.to_str().expect("utf-8 path");
    for platform in PLATFORMS {
        let out = runsc_do(platform, &[exe]);
        let stdout = out.stdout_str();
        assert!(
            !stdout.contains("ESCAPED") && !stdout.contains("FAILED"),
            "{platform}: an attack got through\n{out}"
        );
        assert_eq!(
            stdout.matches(": blocked (").count(),
            7,
            "{platform}: every attack ran\n{out}"
        );
        assert!(
            stdout.ends_with("survived\n"),
            "{platform}: the sandbox survived\n{out}"
        );
        assert!(out.success(), "{platform}\n{out}");
    }
}

#[test]
fn threads_mapping_and_sharing_memory_see_no_corruption() {
    let exe = compile("mt_mmap_stress", Link::Static);
    let exe = exe.to_str().expect("utf-8 path");
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path().to_str().expect("utf-8 path").to_string();
    for platform in PLATFORMS {
        let out = runsc_do(platform, &[exe, "10", &dir]);
        assert!(
            out.success() && out.stdout_str().starts_with("ok "),
            "{platform}: mt_mmap_stress\n{out}"
        );
    }
}
