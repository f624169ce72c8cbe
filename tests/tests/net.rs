//! TCP/IP inside the sandbox (docs/networking.md): servers and clients in the
//! same sandbox talk over the Sentry's loopback stack, on both platforms.
//!
//! - `python3 -m http.server` on 127.0.0.1 and on ::1 serves a file to a
//!   python3 urllib client (Debian rootfs of `tests/rootfs/debian`);
//! - an edge-triggered epoll echo server (tests/c/epoll_echo.c) answers 200
//!   concurrent connections of a client, every echo checked.

use runsc_tests::images::debian_bundle;
use runsc_tests::{compile, Link, Runsc};

const PLATFORMS: [&str; 2] = ["ptrace", "systrap"];

/// `sh -c SCRIPT` as a container on `platform` whose read-only root is the rootfs.
fn debian_sh(platform: &str, script: &str) -> runsc_tests::Output {
    let bundle = debian_bundle(script);
    let runsc = Runsc::on_platform(platform);
    let id = runsc.new_id("net");
    runsc.run_bundle(&bundle, &id)
}

/// A script that serves /tmp with http.server bound to `bind` and fetches a
/// 300 KB file through `url_host`, printing its length and whether it matches.
fn http_script(bind: &str, url_host: &str) -> String {
    format!(
        r#"cd /tmp && python3 -c "open('f.bin','wb').write(bytes(range(256))*1200)" &&
python3 -m http.server 8000 --bind {bind} >server.log 2>&1 &
python3 -c "
import urllib.request, time
data = None
for i in range(200):
    try:
        data = urllib.request.urlopen('http://{url_host}:8000/f.bin', timeout=20).read()
        break
    except OSError:
        time.sleep(0.05)
want = open('/tmp/f.bin', 'rb').read()
print(len(data or b''), data == want)
"
kill %1"#
    )
}

fn http_server_serves_a_file(bind: &str, url_host: &str) {
    for platform in PLATFORMS {
        let out = debian_sh(platform, &http_script(bind, url_host));
        assert_eq!(
            out.stdout_str(),
            "307200 True\n",
            "http.server on {bind} ({platform})\n{out}"
        );
    }
}

#[test]
fn python_http_server_on_ipv4_loopback() {
    http_server_serves_a_file("127.0.0.1", "127.0.0.1");
}

#[test]
fn python_http_server_on_ipv6_loopback() {
    http_server_serves_a_file("::1", "[::1]");
}

fn epoll_echo(extra: &[&str]) {
    let exe = compile("epoll_echo", Link::Static);
    let exe = exe.to_str().expect("utf-8 path");
    for platform in PLATFORMS {
        let mut args = vec!["do", "--", exe, "200"];
        args.extend_from_slice(extra);
        let out = Runsc::on_platform(platform).run(args);
        assert!(out.success(), "epoll_echo {extra:?} on {platform}\n{out}");
        assert_eq!(out.stdout_str(), "200 echoes ok\n", "{platform}\n{out}");
    }
}

#[test]
fn epoll_echo_server_with_200_connections() {
    epoll_echo(&[]);
}

#[test]
fn epoll_echo_server_with_200_connections_over_ipv6() {
    epoll_echo(&["6"]);
}
