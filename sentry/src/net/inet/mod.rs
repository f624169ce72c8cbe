//! The Internet families (ip(7), ipv6(7)): TCP and UDP served by a
//! userspace TCP/IP stack inside the Sentry.
//!
//! - `iface`: the interfaces, addresses and routes, as plain data.

pub mod iface;
