//! `--network`: a container given a network namespace (the spec's
//! `linux.namespaces` network entry with a path, as CNI makes for a pod)
//! sees that namespace's interfaces in `--network=sandbox` mode, which
//! takes them over (their addresses leave the host side); with
//! `--network=none` it sees loopback only and the namespace is left alone;
//! `--network=host` uses the host's sockets.
//!
//! Each test makes its own namespace and veth pair with unique names and
//! removes them in a drop guard. Addresses are in 10.231.N.0/24 and
//! fd31:0:0:N::/64, on those veth pairs only. Skipped when `ip` is missing or we are not root.

use std::path::PathBuf;
use std::process::Command;

use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType};
use runsc_tests::{assert_no_panic, busybox_bundle, Bundle, Output, Runsc};

/// A network namespace with one end of a veth pair in it (address .2) and
/// the other on the host (address .1); both removed on drop.
struct Netns {
    name: String,
    host_if: String,
    inner_if: String,
    subnet: u8,
}

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}"))
}

fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// None (skip) without `ip` or root.
    fn new() -> Option<Netns> {
        if !nix::unistd::geteuid().is_root() || Command::new("ip").arg("-V").output().is_err() {
            eprintln!("skipped: needs root and iproute2");
            return None;
        }
        let n = runsc_tests::unique() as u32 ^ std::process::id();
        let ns = Netns {
            name: format!("rsnl{:x}", n & 0xffffff),
            host_if: format!("rsh{:x}", n & 0xffffff),
            inner_if: format!("rsc{:x}", n & 0xffffff),
            subnet: (n % 250) as u8 + 1,
        };
        ip_ok(&["netns", "add", &ns.name]);
        ip_ok(&["link", "add", &ns.host_if, "type", "veth", "peer", "name", &ns.inner_if]);
        ip_ok(&["link", "set", &ns.inner_if, "netns", &ns.name]);
        ip_ok(&["addr", "add", &format!("{}/24", ns.host_addr()), "dev", &ns.host_if]);
        // IPv6 too, without duplicate address detection (no waiting).
        ip_ok(&[
            "-6",
            "addr",
            "add",
            &format!("{}/64", ns.host_addr6()),
            "dev",
            &ns.host_if,
            "nodad",
        ]);
        ip_ok(&["link", "set", &ns.host_if, "up"]);
        ip_ok(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{}/24", ns.inner_addr()),
            "dev",
            &ns.inner_if,
        ]);
        ip_ok(&[
            "-n",
            &ns.name,
            "-6",
            "addr",
            "add",
            &format!("{}/64", ns.inner_addr6()),
            "dev",
            &ns.inner_if,
            "nodad",
        ]);
        ip_ok(&["-n", &ns.name, "link", "set", &ns.inner_if, "up"]);
        ip_ok(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ip_ok(&["-n", &ns.name, "route", "add", "default", "via", &ns.host_addr()]);
        Some(ns)
    }

    fn host_addr(&self) -> String {
        format!("10.231.{}.1", self.subnet)
    }

    fn inner_addr(&self) -> String {
        format!("10.231.{}.2", self.subnet)
    }

    fn host_addr6(&self) -> String {
        format!("fd31:0:0:{:x}::1", self.subnet)
    }

    fn inner_addr6(&self) -> String {
        format!("fd31:0:0:{:x}::2", self.subnet)
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// `ip -n NS addr show dev INNER` as text.
    fn inner_addrs(&self) -> String {
        String::from_utf8_lossy(&ip(&["-n", &self.name, "addr", "show", "dev", &self.inner_if]).stdout).into_owned()
    }

    /// The inner interface's MAC address.
    fn inner_mac(&self) -> String {
        let text = String::from_utf8_lossy(&ip(&["-n", &self.name, "link", "show", "dev", &self.inner_if]).stdout)
            .into_owned();
        text.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both.
        let _ = Command::new("ip").args(["link", "del", &self.host_if]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// A busybox bundle running `script`, in the network namespace `ns`.
fn bundle_in(ns: &Netns, script: &str) -> Bundle {
    let bundle = busybox_bundle(script, Vec::new());
    let mut spec = bundle.spec();
    let mut linux = spec.linux().clone().expect("linux section");
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    namespaces.retain(|n| n.typ() != LinuxNamespaceType::Network);
    namespaces.push(
        LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Network)
            .path(ns.path())
            .build()
            .expect("network namespace"),
    );
    linux.set_namespaces(Some(namespaces));
    spec.set_linux(Some(linux));
    bundle.save_spec(&spec);
    bundle
}

fn run_with(mode: &str, bundle: &Bundle) -> Output {
    let runsc = Runsc::new();
    let id = runsc.new_id("net");
    runsc.run([
        "--network",
        mode,
        "run",
        "--bundle",
        bundle.path().to_str().expect("utf-8 bundle path"),
        &id,
    ])
}

const SHOW: &str = "busybox ip addr; busybox ip route; cat /proc/net/dev";

#[test]
fn sandbox_mode_takes_over_the_namespace_interfaces() {
    let Some(ns) = Netns::new() else { return };
    let mac = ns.inner_mac();
    let out = run_with("sandbox", &bundle_in(&ns, SHOW));
    assert_no_panic(&out, "runsc --network=sandbox");
    assert!(out.success(), "{out}");
    let text = out.stdout_str();
    assert!(text.contains(&format!("inet {}/24", ns.inner_addr())), "{out}");
    assert!(text.contains(&ns.inner_if), "{out}");
    assert!(!mac.is_empty() && text.contains(&mac), "MAC {mac} missing\n{out}");
    assert!(text.contains(&format!("default via {}", ns.host_addr())), "{out}");
    assert!(text.contains("127.0.0.1/8"), "{out}");
    // The host side no longer holds the address: the sandbox does.
    assert!(!ns.inner_addrs().contains(&ns.inner_addr()), "{}", ns.inner_addrs());
}

#[test]
fn none_mode_is_loopback_only_and_leaves_the_namespace_alone() {
    let Some(ns) = Netns::new() else { return };
    let out = run_with("none", &bundle_in(&ns, SHOW));
    assert_no_panic(&out, "runsc --network=none");
    assert!(out.success(), "{out}");
    let text = out.stdout_str();
    assert!(text.contains("127.0.0.1/8"), "{out}");
    assert!(!text.contains(&ns.inner_if), "{out}");
    assert!(!text.contains(&ns.inner_addr()), "{out}");
    assert!(ns.inner_addrs().contains(&ns.inner_addr()), "{}", ns.inner_addrs());
}

/// A one-shot server on the host's loopback that says hello; its port.
fn host_server() -> (u16, std::thread::JoinHandle<()>) {
    host_server_on("127.0.0.1")
}

/// A one-shot server on the host at `ip` that says hello; its port.
fn host_server_on(ip: &str) -> (u16, std::thread::JoinHandle<()>) {
    let ip: std::net::IpAddr = ip.parse().expect("server address");
    let listener = std::net::TcpListener::bind((ip, 0)).expect("bind on the host");
    let port = listener.local_addr().expect("local addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    use std::io::Write;
                    let _ = conn.write_all(b"hello from the host\n");
                    return;
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    });
    (port, handle)
}

/// `--network=host`: the sandbox's sockets are the host's, so a server on
/// the host's loopback is reachable, from `runsc do` and from a container.
#[test]
fn host_mode_reaches_a_host_loopback_server() {
    let runsc = Runsc::new();
    let (port, server) = host_server();
    let out = runsc.run([
        "--network",
        "host",
        "do",
        "--",
        "busybox",
        "nc",
        "127.0.0.1",
        &port.to_string(),
    ]);
    let _ = server.join();
    assert_no_panic(&out, "runsc --network=host do");
    assert!(out.stdout_str().contains("hello from the host"), "{out}");

    let (port, server) = host_server();
    let bundle = busybox_bundle(&format!("busybox nc 127.0.0.1 {port}"), Vec::new());
    let out = run_with("host", &bundle);
    let _ = server.join();
    assert_no_panic(&out, "runsc --network=host run");
    assert!(out.stdout_str().contains("hello from the host"), "{out}");
}

/// The default mode cannot reach the host's loopback.
#[test]
fn sandbox_mode_does_not_reach_the_host_loopback() {
    let runsc = Runsc::new();
    let (port, server) = host_server();
    let out = runsc.run(["do", "--", "busybox", "nc", "-w", "1", "127.0.0.1", &port.to_string()]);
    assert_no_panic(&out, "runsc do");
    assert!(!out.stdout_str().contains("hello"), "{out}");
    // Let the server go: connect once from the host.
    let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    let _ = server.join();
}

#[test]
fn do_in_none_and_sandbox_mode_sees_loopback() {
    let runsc = Runsc::new();
    for mode in ["none", "sandbox"] {
        let out = runsc.run(["--network", mode, "do", "--", "/bin/cat", "/proc/net/dev"]);
        assert!(out.success(), "{out}");
        let rows: Vec<String> = out.stdout_str().lines().skip(2).map(str::to_string).collect();
        assert_eq!(rows.len(), 1, "{out}");
        assert!(rows[0].trim_start().starts_with("lo:"), "{out}");
    }
}

/// Tries `busybox nc` from the host to `addr`, port 8080, up to `tries`
/// times; returns what it read.
fn fetch(addr: &str, tries: usize) -> String {
    let mut got = String::new();
    for _ in 0..tries {
        let out = Command::new("busybox")
            .args(["nc", "-w", "2", addr, "8080"])
            .output()
            .expect("busybox nc");
        got = String::from_utf8_lossy(&out.stdout).into_owned();
        if got.contains("hello") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    got
}

/// Pings `addr` from the host until it answers (at most 20 tries).
fn ping(addr: &str) -> std::process::Output {
    let mut last = None;
    for _ in 0..20 {
        let out = Command::new("busybox")
            .args(["ping", "-c", "1", "-W", "1", addr])
            .output()
            .expect("busybox ping");
        let ok = out.status.success();
        last = Some(out);
        if ok {
            break;
        }
    }
    last.expect("ping ran")
}

/// A sandbox running a one-shot TCP server on port 8080 (killed after 20 s).
fn serve(mode: &str, ns: &Netns) -> (Runsc, runsc_tests::Running, Bundle) {
    let bundle = bundle_in(ns, "echo hello | busybox timeout -s KILL 20 busybox nc -l -p 8080");
    let runsc = Runsc::new();
    let id = runsc.new_id("net-server");
    let server = runsc.spawn([
        "--network",
        mode,
        "run",
        "--bundle",
        bundle.path().to_str().expect("utf-8 bundle path"),
        &id,
    ]);
    (runsc, server, bundle)
}

/// A server in the sandbox answers a client on the host over the veth,
/// and the sandbox answers ping.
#[test]
fn sandbox_server_answers_the_host() {
    let Some(ns) = Netns::new() else { return };
    sandbox_server_answers(&ns, &ns.inner_addr());
}

/// A server in the sandbox of `ns` answers ping and a client on the host at `addr`.
fn sandbox_server_answers(ns: &Netns, addr: &str) {
    let (_runsc, server, _bundle) = serve("sandbox", ns);
    // Ping while the server still waits for its one client.
    let ping = ping(addr);
    let got = fetch(addr, 50);
    let out = server.wait(runsc_tests::default_timeout());
    assert!(got.contains("hello"), "client got {got:?}\n{out}");
    assert_no_panic(&out, "server sandbox");
    assert!(ping.status.success(), "ping: {}", String::from_utf8_lossy(&ping.stdout));
}

/// With `--network=none` the same server cannot be reached: the address
/// still belongs to the namespace's kernel, where nothing listens.
#[test]
fn none_mode_server_is_unreachable() {
    let Some(ns) = Netns::new() else { return };
    let (_runsc, server, _bundle) = serve("none", &ns);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let got = fetch(&ns.inner_addr(), 3);
    let out = server.wait(runsc_tests::default_timeout());
    assert!(!got.contains("hello"), "client got {got:?}\n{out}");
    assert_no_panic(&out, "server sandbox");
}

/// The same over IPv6 (neighbour discovery instead of ARP).
#[test]
fn sandbox_server_answers_the_host_over_ipv6() {
    let Some(ns) = Netns::new() else { return };
    sandbox_server_answers(&ns, &ns.inner_addr6());
}

/// A client in the sandbox reaches a server on the host side of the veth,
/// over IPv4 and IPv6.
#[test]
fn sandbox_client_reaches_the_host_over_the_veth() {
    for v6 in [false, true] {
        // A namespace each: a sandbox takes its addresses for good.
        let Some(ns) = Netns::new() else { return };
        let addr = if v6 { ns.host_addr6() } else { ns.host_addr() };
        let (port, server) = host_server_on(&addr);
        let bundle = bundle_in(&ns, &format!("busybox nc -w 5 {addr} {port}; busybox ip neigh"));
        let out = run_with("sandbox", &bundle);
        let _ = server.join();
        assert_no_panic(&out, "client sandbox");
        assert!(out.stdout_str().contains("hello from the host"), "{addr}: {out}");
        // The host's side was resolved, and netlink shows it.
        let neigh = format!("{addr} dev {} lladdr", ns.inner_if);
        assert!(out.stdout_str().contains(&neigh), "{neigh}: {out}");
    }
}

/// A taken-over interface answers ping from the start, before the guest
/// makes any socket.
#[test]
fn sandbox_answers_ping_without_sockets() {
    let Some(ns) = Netns::new() else { return };
    let bundle = bundle_in(&ns, "busybox sleep 5");
    let runsc = Runsc::new();
    let id = runsc.new_id("net-idle");
    let sandbox = runsc.spawn([
        "--network",
        "sandbox",
        "run",
        "--bundle",
        bundle.path().to_str().expect("utf-8 bundle path"),
        &id,
    ]);
    let ping = ping(&ns.inner_addr());
    let out = sandbox.wait(runsc_tests::default_timeout());
    assert!(
        ping.status.success(),
        "ping: {}\n{out}",
        String::from_utf8_lossy(&ping.stdout)
    );
    assert_no_panic(&out, "idle sandbox");
}
