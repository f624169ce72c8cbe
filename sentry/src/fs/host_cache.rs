//! Caching for host file systems that only this sandbox changes (the
//! container's rootfs; gVisor calls this "exclusive" file access).
//!
//! Without it every path component is a walk and every stat a round trip
//! to the gofer. With it:
//! - a lookup of `(directory fid, name)` is remembered, found or not found
//!   (a negative entry), in a bounded LRU; every namespace change made
//!   through the Sentry forgets the names it touches;
//! - a stat is remembered until anything in the tree changes: every write,
//!   attribute change or namespace change bumps one generation number, and
//!   a stat taken under an older generation is asked again.
//!
//! Bind mounts are shared with the host, which may change them at any
//! time, so they are served without this cache.

use super::host::HostInode;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many lookups are remembered. Each found entry holds a gofer fid (an
/// `O_PATH` fd in the gofer) while it is cached.
const CAPACITY: usize = 4096;

type Key = (u64, Vec<u8>);

pub struct LookupCache {
    entries: Mutex<lru::LruCache<Key, Option<Arc<HostInode>>>>,
    generation: AtomicU64,
}

impl Default for LookupCache {
    fn default() -> Self {
        LookupCache {
            entries: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            generation: AtomicU64::new(1),
        }
    }
}

impl LookupCache {
    /// The remembered result of looking up `name` in directory `dir`:
    /// `Some(None)` when it was not found.
    pub fn get(&self, dir: u64, name: &[u8]) -> Option<Option<Arc<HostInode>>> {
        let mut entries = self.entries.lock().ok()?;
        entries.get(&(dir, name.to_vec())).cloned()
    }

    /// Remembers a lookup result.
    pub fn put(&self, dir: u64, name: &[u8], found: Option<Arc<HostInode>>) {
        let evicted = match self.entries.lock() {
            Ok(mut entries) => entries.push((dir, name.to_vec()), found),
            Err(_) => None,
        };
        // An evicted inode may clunk its fid: a round trip, made unlocked.
        drop(evicted);
    }

    /// Forgets `name` in `dir` after a change made through the Sentry, and
    /// starts a new generation.
    pub fn forget(&self, dir: u64, name: &[u8]) {
        let removed = match self.entries.lock() {
            Ok(mut entries) => entries.pop(&(dir, name.to_vec())),
            Err(_) => None,
        };
        self.changed();
        drop(removed);
    }

    /// Something in the tree changed: every remembered stat is out of date.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
