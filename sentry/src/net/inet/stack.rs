//! The TCP/IP stack of the sandbox: one smoltcp interface over the
//! loopback device, every TCP and UDP socket's state, the port table, and
//! the thread that fires the stack's timers.
//!
//! Everything lives under one lock. Each socket operation changes what it
//! must, then [`StackInner::pump`]s the interface until the loopback
//! device is idle (so a connect or a send is seen by the peer before the
//! call returns), and [`Stack::notify`]s waiters: blocked socket calls
//! (on [`Stack::changed`]), poll/select/epoll (through
//! `vfs::readiness::changed`) and the timer thread, which sleeps until
//! smoltcp's next deadline (retransmission, delayed ACK, TIME_WAIT,
//! keepalive) and pumps then.

use super::backlog::Listener;
use super::device::Loopback;
use super::iface::{Counters, Network, NicFd};
use super::nic::Nics;
use super::ping::PingEntry;
use super::ports::PortTable;
use super::raw::RawEntry;
use super::tcp::TcpEntry;
use super::udp::UdpEntry;
use crate::errno::{Errno, Result};
use smoltcp::iface::{Config, Interface, PollResult, Route, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Packets one interface poll takes in before the listeners are refilled.
pub const PACKETS_PER_POLL: usize = 8;
/// The longest the timer thread sleeps without a deadline.
const TIMER_IDLE: Duration = Duration::from_secs(1);
/// The shortest sleep of the timer thread (a deadline already due).
const TIMER_MIN: Duration = Duration::from_millis(1);
/// Bound on the polls of one pump (each moves at least one packet).
const MAX_POLLS: usize = 1 << 16;

/// The sandbox's stack, once built.
static STACK: OnceLock<Arc<Stack>> = OnceLock::new();

/// The traffic counters of interface `index`: zero until the stack exists.
pub fn counters_of(index: u32) -> Counters {
    let Some(stack) = STACK.get() else {
        return Counters::default();
    };
    let loopback = stack
        .network
        .by_index(index)
        .is_some_and(|i| i.flags & super::iface::IFF_LOOPBACK != 0);
    let Ok(inner) = stack.lock() else {
        return Counters::default();
    };
    if loopback {
        return inner.device.lo;
    }
    inner
        .device
        .nics
        .counters()
        .into_iter()
        .find(|(i, _)| *i == index)
        .map_or_else(Counters::default, |(_, c)| c)
}

/// The neighbours the taken-over interfaces have resolved (ARP and
/// neighbour discovery): (interface index, address, MAC).
pub fn neighbors() -> Vec<(u32, IpAddr, [u8; 6])> {
    STACK
        .get()
        .and_then(|s| s.lock().ok().map(|inner| inner.device.nics.neighbors()))
        .unwrap_or_default()
}

/// The network the stack is built from, set at boot by [`configure`].
static CONFIG: Mutex<Option<(Network, Vec<NicFd>)>> = Mutex::new(None);

/// Sets the sandbox's network and the packet sockets of its taken-over
/// interfaces, before the first inet socket builds the stack.
pub fn configure(network: Network, nics: Vec<NicFd>) {
    if let Ok(mut config) = CONFIG.lock() {
        *config = Some((network, nics));
    }
}

pub struct Stack {
    inner: Mutex<StackInner>,
    /// Signalled after every change, for blocked socket calls.
    pub changed: Condvar,
    /// Wakes the timer thread to look at the next deadline again.
    timer: Condvar,
    network: Network,
}

pub struct StackInner {
    iface: Interface,
    device: Loopback,
    pub sockets: SocketSet<'static>,
    pub ports: PortTable,
    pub tcp: HashMap<u64, TcpEntry>,
    pub udp: HashMap<u64, UdpEntry>,
    pub ping: HashMap<u64, PingEntry>,
    pub raw: HashMap<u64, RawEntry>,
    /// Closed sockets still finishing their connection (FIN, TIME_WAIT).
    orphans: Vec<SocketHandle>,
    next_id: u64,
    epoch: Instant,
}

impl Stack {
    /// The sandbox's stack, built on first use from the network
    /// [`configure`]d at boot (loopback only if none was), with its timer
    /// thread and, with taken-over interfaces, the thread that waits for
    /// their frames.
    pub fn global() -> Result<&'static Arc<Stack>> {
        if let Some(stack) = STACK.get() {
            return Ok(stack);
        }
        let stack = STACK.get_or_init(|| {
            let (network, fds) = CONFIG
                .lock()
                .ok()
                .and_then(|mut c| c.take())
                .unwrap_or_else(|| (Network::loopback_only(), Vec::new()));
            Stack::with_nics(network, fds)
        });
        stack.start_timer_thread()?;
        stack.start_nic_thread()?;
        Ok(stack)
    }

    /// A stack over `network` whose non-loopback interfaces send and
    /// receive through the packet sockets `fds`.
    pub fn with_nics(network: Network, fds: Vec<NicFd>) -> Arc<Stack> {
        let nics = Nics::new(&network, fds);
        let stack = Stack::new(network);
        if let Ok(mut inner) = stack.inner.lock() {
            let gateways: Vec<Route> = stack
                .network
                .routes
                .iter()
                .filter_map(|r| {
                    Some(Route {
                        cidr: IpCidr::new(IpAddress::from(r.dest.addr), r.dest.prefix),
                        via_router: IpAddress::from(r.gateway?),
                        preferred_until: None,
                        expires_at: None,
                    })
                })
                .collect();
            inner.iface.routes_mut().update(|table| {
                for route in gateways {
                    // The route table is bounded; extra routes are not served.
                    let _ = table.push(route);
                }
            });
            inner.device.nics = nics;
        }
        stack
    }

    /// Waits for frames on the taken-over interfaces and pumps the stack
    /// when some arrive.
    fn start_nic_thread(self: &Arc<Self>) -> Result<()> {
        static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let fds = self.lock()?.device.nics.raw_fds();
        if fds.is_empty() || STARTED.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        let stack = self.clone();
        std::thread::Builder::new()
            .name("inet-nics".into())
            .spawn(move || stack.run_nics(&fds))
            .map(|_| ())
            .map_err(|_| Errno::ENOMEM)
    }

    fn run_nics(&self, fds: &[i32]) {
        let mut polled: Vec<libc::pollfd> = fds
            .iter()
            .map(|&fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        loop {
            // SAFETY: `polled` is a valid array of pollfd of that length;
            // the fds stay open as long as the stack (which never goes).
            let n = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, 1000) };
            if n <= 0 {
                continue;
            }
            let Ok(mut inner) = self.inner.lock() else { return };
            if inner.device.nics.drain() {
                self.update(&mut inner);
            } else {
                // Ready but nothing read: an error state (the host
                // interface went away); do not spin on it.
                drop(inner);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    pub fn new(network: Network) -> Arc<Stack> {
        let mut device = Loopback::default();
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed();
        let epoch = Instant::now();
        let mut iface = Interface::new(config, &mut device, smol_now(epoch));
        // Every packet on the loopback device is for this host: take in
        // any destination (127.0.0.0/8 is all local, ip(7)). Sockets only
        // reach addresses `Network::is_local` accepts.
        iface.set_any_ip(true);
        iface.update_ip_addrs(|addrs| {
            // Non-loopback addresses first: smoltcp takes the first address
            // of the family as the source towards a gateway.
            let mut ordered: Vec<_> = network.interfaces.iter().flat_map(|i| &i.addrs).collect();
            ordered.sort_by_key(|a| a.addr.is_loopback());
            for addr in ordered {
                // The address list is bounded; extra addresses are not served.
                let _ = addrs.push(IpCidr::new(IpAddress::from(addr.addr), addr.prefix));
            }
        });
        Arc::new(Stack {
            inner: Mutex::new(StackInner {
                iface,
                device,
                sockets: SocketSet::new(Vec::new()),
                ports: PortTable::default(),
                tcp: HashMap::new(),
                udp: HashMap::new(),
                ping: HashMap::new(),
                raw: HashMap::new(),
                orphans: Vec::new(),
                next_id: 1,
                epoch,
            }),
            changed: Condvar::new(),
            timer: Condvar::new(),
            network,
        })
    }

    fn start_timer_thread(self: &Arc<Self>) -> Result<()> {
        static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if STARTED.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        let stack = self.clone();
        std::thread::Builder::new()
            .name("inet-timers".into())
            .spawn(move || stack.run_timers())
            .map(|_| ())
            .map_err(|_| Errno::ENOMEM)
    }

    /// The timer thread: pump at every smoltcp deadline.
    fn run_timers(&self) {
        let Ok(mut inner) = self.inner.lock() else { return };
        loop {
            // Woken waiters look again even when no socket reported a
            // change: a timer may have moved a listener's queue.
            inner.pump();
            self.wake_waiters();
            let delay = inner.next_deadline().clamp(TIMER_MIN, TIMER_IDLE);
            inner = match self.timer.wait_timeout(inner, delay) {
                Ok((guard, _)) => guard,
                Err(_) => return,
            };
        }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn lock(&self) -> Result<MutexGuard<'_, StackInner>> {
        self.inner.lock().map_err(|_| Errno::EIO)
    }

    /// Pumps the interface and wakes whoever may care. Call after every
    /// change to a socket.
    pub fn update(&self, inner: &mut StackInner) {
        inner.pump();
        self.wake_waiters();
        self.timer.notify_one();
    }

    fn wake_waiters(&self) {
        self.changed.notify_all();
        crate::vfs::readiness::changed();
    }

    /// True when `ip` is an address of this host (bind(2) EADDRNOTAVAIL
    /// otherwise).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.network.is_local(ip)
    }

    /// True when packets to `ip` have somewhere to go: a local address, or
    /// a route out of a taken-over interface (`--network=sandbox`).
    pub fn reachable(&self, ip: IpAddr) -> bool {
        self.network.is_local(ip)
            || self.network.routes.iter().any(|r| {
                r.dest.covers(ip)
                    && self
                        .network
                        .by_index(r.ifindex)
                        .is_some_and(|i| i.flags & super::iface::IFF_LOOPBACK == 0)
            })
    }

    /// The interface addresses of one family, for wildcard listeners.
    pub fn local_addrs(&self, v4: bool, v6: bool) -> Vec<IpAddr> {
        self.network
            .interfaces
            .iter()
            .flat_map(|i| &i.addrs)
            .map(|a| a.addr)
            .filter(|a| (a.is_ipv4() && v4) || (a.is_ipv6() && v6))
            .collect()
    }
}

fn smol_now(epoch: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(epoch.elapsed().as_micros() as i64)
}

/// A seed for initial sequence numbers that differs between sandboxes.
fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ u64::from(std::process::id()).rotate_left(32)
}

impl StackInner {
    /// A new socket id (for the socket tables and the port table).
    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn now(&self) -> smoltcp::time::Instant {
        smol_now(self.epoch)
    }

    pub fn iface_context(&mut self) -> &mut smoltcp::iface::Context {
        self.iface.context()
    }

    /// Polls the interface until the loopback device is idle, refilling
    /// listeners between polls. True if some socket's state changed.
    pub fn pump(&mut self) -> bool {
        let mut changed = false;
        for _ in 0..MAX_POLLS {
            self.tend_listeners();
            self.device.budget = PACKETS_PER_POLL;
            let now = self.now();
            let result = self.iface.poll(now, &mut self.device, &mut self.sockets);
            changed |= result == PollResult::SocketStateChanged;
            let reset = self.reset_orphans_with_data();
            if result == PollResult::None && self.device.is_idle() && !reset {
                break;
            }
        }
        self.tend_listeners();
        self.reap_orphans();
        changed
    }

    /// Refills every listener, and tells the device which endpoints take
    /// no connection now: those whose every listener (SO_REUSEPORT may
    /// put several on one) has a full accept queue.
    fn tend_listeners(&mut self) {
        let mut full = HashSet::new();
        let mut open = HashSet::new();
        for entry in self.tcp.values_mut() {
            if let Some(listener) = entry.listener_mut() {
                listener.tend(&mut self.sockets);
                listener.endpoints(&mut full, &mut open);
            }
        }
        self.device.full = full.difference(&open).copied().collect();
    }

    /// Time until smoltcp's next timer.
    fn next_deadline(&mut self) -> Duration {
        let now = self.now();
        self.iface
            .poll_delay(now, &self.sockets)
            .map_or(TIMER_IDLE, |d| Duration::from_micros(d.total_micros()))
    }

    /// Keeps a closed socket's connection until it has finished closing.
    pub fn orphan(&mut self, handle: SocketHandle) {
        self.orphans.push(handle);
    }

    /// tcp(7): data reaching a socket the application has closed is
    /// answered with a RST (tcp_rcv_state_process "data after close").
    fn reset_orphans_with_data(&mut self) -> bool {
        let mut reset = false;
        for &h in &self.orphans {
            let socket = self.sockets.get_mut::<tcp::Socket>(h);
            if socket.recv_queue() > 0 && socket.state() != tcp::State::Closed {
                socket.abort();
                reset = true;
            }
        }
        reset
    }

    fn reap_orphans(&mut self) {
        let sockets = &mut self.sockets;
        self.orphans.retain(|&h| {
            let done = sockets.get::<tcp::Socket>(h).state() == tcp::State::Closed;
            if done {
                sockets.remove(h);
            }
            !done
        });
    }

    /// Removes a listener's sockets (closing a listening socket).
    pub fn drop_listener(&mut self, listener: Listener) {
        let aborted = listener.close(&mut self.sockets);
        self.orphans.extend(aborted);
    }
}
