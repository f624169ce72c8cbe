//! The listen backlog smoltcp lacks: a smoltcp TCP socket in the LISTEN
//! state becomes the connection of the first SYN it gets, so a listener
//! keeps a few such sockets per local address ("spares") and moves each
//! one that reaches ESTABLISHED to its accept queue, replacing it.
//!
//! As on Linux (listen(2)), the accept queue holds backlog + 1
//! connections; while it is full the listener keeps no spares and the
//! device drops new SYNs to it, so clients retransmit them later.

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpListenEndpoint};
use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;

/// Spare LISTEN sockets kept per address: at least the packets one poll
/// takes in, so no SYN of a batch finds none.
pub const SPARES: usize = super::stack::PACKETS_PER_POLL;

/// How a new connection's smoltcp socket is made (buffers, options).
pub type MakeSocket = fn(&SocketTemplate) -> tcp::Socket<'static>;

/// The settings accepted connections inherit from the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketTemplate {
    pub rcvbuf: usize,
    pub sndbuf: usize,
    pub nodelay: bool,
    pub keepalive: Option<std::time::Duration>,
}

struct Pool {
    addr: IpAddr,
    port: u16,
    /// Sockets in LISTEN or SYN-RECEIVED.
    waiting: Vec<SocketHandle>,
}

pub struct Listener {
    backlog: usize,
    pools: Vec<Pool>,
    /// Established connections not accepted yet.
    ready: VecDeque<SocketHandle>,
    template: SocketTemplate,
    make: MakeSocket,
}

impl Listener {
    /// A listener on `port` of each of `addrs`, with listen(2)'s backlog.
    pub fn new(addrs: &[IpAddr], port: u16, backlog: usize, template: SocketTemplate, make: MakeSocket) -> Listener {
        Listener {
            backlog,
            pools: addrs
                .iter()
                .map(|&addr| Pool {
                    addr,
                    port,
                    waiting: Vec::new(),
                })
                .collect(),
            ready: VecDeque::new(),
            template,
            make,
        }
    }

    /// listen(2) again on a listening socket changes the backlog.
    pub fn set_backlog(&mut self, backlog: usize) {
        self.backlog = backlog;
    }

    pub fn set_template(&mut self, template: SocketTemplate) {
        self.template = template;
    }

    /// Connections the accept queue may hold.
    fn capacity(&self) -> usize {
        self.backlog + 1
    }

    pub fn ready_count(&self) -> usize {
        self.ready.len()
    }

    /// accept(2): the oldest established connection.
    pub fn take(&mut self) -> Option<SocketHandle> {
        self.ready.pop_front()
    }

    /// Moves established connections to the accept queue and keeps the
    /// spares topped up while the queue has room.
    pub fn tend(&mut self, sockets: &mut SocketSet<'static>) {
        let capacity = self.capacity();
        let room = capacity.saturating_sub(self.ready.len());
        for pool in &mut self.pools {
            let mut spares = 0;
            let mut kept = Vec::with_capacity(pool.waiting.len());
            for h in pool.waiting.drain(..) {
                match sockets.get::<tcp::Socket>(h).state() {
                    tcp::State::Listen if spares < room.min(SPARES) => {
                        spares += 1;
                        kept.push(h);
                    }
                    tcp::State::Listen | tcp::State::Closed => {
                        sockets.remove(h);
                    }
                    tcp::State::SynReceived => kept.push(h),
                    // ESTABLISHED, or already past it (data and FIN came
                    // at once): ready for accept.
                    _ => self.ready.push_back(h),
                }
            }
            pool.waiting = kept;
            let room = capacity.saturating_sub(self.ready.len());
            while spares < room.min(SPARES) {
                let mut socket = (self.make)(&self.template);
                let endpoint = IpListenEndpoint {
                    addr: Some(IpAddress::from(pool.addr)),
                    port: pool.port,
                };
                if socket.listen(endpoint).is_err() {
                    break;
                }
                pool.waiting.push(sockets.add(socket));
                spares += 1;
            }
        }
    }

    /// Adds this listener's endpoints to `full` when its accept queue is
    /// full (no spare LISTEN socket: SYNs are dropped unless another
    /// listener takes them), else to `open`.
    pub fn endpoints(&self, full: &mut HashSet<(IpAddr, u16)>, open: &mut HashSet<(IpAddr, u16)>) {
        let mine = self.pools.iter().map(|p| (p.addr, p.port));
        if self.ready.len() >= self.capacity() {
            full.extend(mine);
        } else {
            open.extend(mine);
        }
    }

    /// Closing the listener resets every connection not accepted yet;
    /// returns their sockets, which stay until the RST has gone out.
    pub fn close(self, sockets: &mut SocketSet<'static>) -> Vec<SocketHandle> {
        let handles: Vec<SocketHandle> = self
            .pools
            .into_iter()
            .flat_map(|p| p.waiting)
            .chain(self.ready)
            .collect();
        for &h in &handles {
            sockets.get_mut::<tcp::Socket>(h).abort();
        }
        handles
    }
}
