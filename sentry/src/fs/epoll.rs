//! epoll(7): an interest list of (fd, open file description) pairs and
//! the readiness of each, found by polling the files.
//!
//! - A registration is keyed by the fd number it was added with and the
//!   open file description behind it, and holds the description weakly:
//!   it goes away when the last fd of the description is closed, not when
//!   the fd it was added with is (epoll(7) Q6).
//! - Level-triggered items are reported whenever ready; a reported item
//!   moves to the end of the list, so that a small `maxevents` sees every
//!   ready item in turn.
//! - An edge-triggered (EPOLLET) item is reported when it becomes ready
//!   after EPOLL_CTL_ADD or MOD, when it gains readiness bits, or when the
//!   file's event counter (`FileOps::event_count`: new data, freed room,
//!   hang-ups) moved since the item was last looked at.
//! - EPOLLONESHOT disables an item once reported, until EPOLL_CTL_MOD.
//!
//! An epoll file is itself readable while it has an item to report; epoll
//! instances may watch each other as long as they form no loop.

use crate::errno::{Errno, Result};
use crate::fs::anon;
use crate::vfs::readiness::WakeHint;
use crate::vfs::{FileOps, OpenFile};
use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

pub const EPOLLET: u32 = 1 << 31;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// The events an EPOLLEXCLUSIVE item may ask for (epoll_ctl(2) EINVAL).
pub const EXCLUSIVE_OK: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLERR | libc::EPOLLHUP) as u32 | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// The size of struct epoll_event on x86-64 (packed).
pub const EVENT_SIZE: usize = 12;
/// How deeply epoll instances may watch each other (the kernel's EP_MAX_NESTS).
const MAX_NESTS: usize = 4;

/// One registration.
#[derive(Clone)]
struct Item {
    /// Identifies this item and its current setting: EPOLL_CTL_MOD gives a
    /// new one, so a scan that raced with it does not update the new setting.
    id: u64,
    fd: i32,
    file: Weak<OpenFile>,
    events: u32,
    data: u64,
    /// False once an EPOLLONESHOT item has been reported.
    armed: bool,
    /// Not looked at since EPOLL_CTL_ADD or MOD.
    fresh: bool,
    /// For EPOLLET: readiness and event counter at the last look.
    last_ready: i16,
    last_count: u64,
}

impl Item {
    fn is(&self, fd: i32, file: &Arc<OpenFile>) -> bool {
        self.fd == fd && std::ptr::eq(self.file.as_ptr(), Arc::as_ptr(file))
    }

    /// The poll(2) events asked of the file: the item's, plus the error
    /// and hang-up conditions epoll always reports.
    fn wanted(&self) -> i16 {
        ((self.events & 0xffff) as u16 as i16) | libc::POLLERR | libc::POLLHUP
    }
}

/// What one look at an item found.
struct Look {
    id: u64,
    ready: i16,
    count: u64,
    reported: bool,
}

impl Look {
    fn of(item: &Item, file: &OpenFile) -> Look {
        let wanted = item.wanted();
        let ready = file.ops.poll(wanted) & wanted;
        let count = file.ops.event_count(wanted);
        let reported = item.armed
            && ready != 0
            && (item.events & EPOLLET == 0 || item.fresh || count != item.last_count || ready & !item.last_ready != 0);
        Look {
            id: item.id,
            ready,
            count,
            reported,
        }
    }
}

#[derive(Default)]
struct Interest {
    items: Vec<Item>,
    next_id: u64,
}

impl Interest {
    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Drops the items whose file description is gone.
    fn prune(&mut self) {
        self.items.retain(|i| i.file.strong_count() > 0);
    }

    fn find(&mut self, fd: i32, file: &Arc<OpenFile>) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.is(fd, file))
    }

    /// Records what a consuming scan saw and reported.
    fn apply(&mut self, looks: &[Look]) {
        let mut moved = Vec::new();
        for look in looks {
            let Some(pos) = self.items.iter().position(|i| i.id == look.id) else {
                continue;
            };
            let item = &mut self.items[pos];
            item.last_ready = look.ready;
            item.last_count = look.count;
            if !look.reported {
                continue;
            }
            item.fresh = false;
            if item.events & EPOLLONESHOT != 0 {
                item.armed = false;
            } else if item.events & EPOLLET == 0 {
                moved.push(look.id);
            }
        }
        // Reported level-triggered items go to the back, in report order.
        for id in moved {
            if let Some(pos) = self.items.iter().position(|i| i.id == id) {
                let item = self.items.remove(pos);
                self.items.push(item);
            }
        }
    }
}

thread_local! {
    /// Epoll instances being scanned on this thread, inside each other.
    static SCAN_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Serializes the loop check of EPOLL_CTL_ADD with the insertion
/// (the kernel's epnested_mutex).
static NESTING: Mutex<()> = Mutex::new(());

#[derive(Default)]
pub struct Epoll {
    interest: Mutex<Interest>,
    /// The instances this one was added to (some may have dropped it
    /// since), for the nesting limit.
    parents: Mutex<Vec<Weak<Epoll>>>,
}

/// One reported event: (events, data).
pub type Event = (u32, u64);

impl Epoll {
    fn lock(&self) -> Result<MutexGuard<'_, Interest>> {
        super::lock(&self.interest)
    }

    /// The epoll instance behind `file`, if it is one.
    pub fn of(file: &OpenFile) -> Option<Arc<Epoll>> {
        anon::object_of::<Epoll>(file)
    }

    /// EPOLL_CTL_ADD: EEXIST if (fd, file) is registered; ELOOP if `file`
    /// is an epoll instance that would close a loop or nest too deeply.
    pub fn add(self: &Arc<Self>, fd: i32, file: &Arc<OpenFile>, events: u32, data: u64) -> Result<()> {
        let target = Epoll::of(file);
        let _nesting = match &target {
            Some(target) => {
                let guard = NESTING.lock().map_err(|_| Errno::EIO)?;
                // epoll_ctl(2) ELOOP: a loop, or a chain of more than
                // MAX_NESTS + 1 instances through the new link.
                if target.reaches(self, 0)? || target.depth(0)? + 1 + self.height(0)? > MAX_NESTS {
                    return Err(Errno::ELOOP);
                }
                Some(guard)
            }
            None => None,
        };
        let mut interest = self.lock()?;
        interest.prune();
        if interest.find(fd, file).is_some() {
            return Err(Errno::EEXIST);
        }
        let id = interest.new_id();
        interest.items.push(Item {
            id,
            fd,
            file: Arc::downgrade(file),
            events,
            data,
            armed: true,
            fresh: true,
            last_ready: 0,
            last_count: 0,
        });
        drop(interest);
        if let Some(target) = target {
            let mut parents = super::lock(&target.parents)?;
            parents.retain(|p| p.strong_count() > 0);
            if !parents.iter().any(|p| std::ptr::eq(p.as_ptr(), Arc::as_ptr(self))) {
                parents.push(Arc::downgrade(self));
            }
        }
        crate::vfs::readiness::changed();
        Ok(())
    }

    /// EPOLL_CTL_MOD: ENOENT if not registered; EINVAL for an
    /// EPOLLEXCLUSIVE item. Re-arms a disabled EPOLLONESHOT item.
    pub fn modify(&self, fd: i32, file: &Arc<OpenFile>, events: u32, data: u64) -> Result<()> {
        let mut interest = self.lock()?;
        interest.prune();
        let id = interest.new_id();
        let item = interest.find(fd, file).ok_or(Errno::ENOENT)?;
        if item.events & EPOLLEXCLUSIVE != 0 {
            return Err(Errno::EINVAL);
        }
        item.id = id;
        item.events = events;
        item.data = data;
        item.armed = true;
        item.fresh = true;
        drop(interest);
        crate::vfs::readiness::changed();
        Ok(())
    }

    /// EPOLL_CTL_DEL: ENOENT if not registered.
    pub fn remove(&self, fd: i32, file: &Arc<OpenFile>) -> Result<()> {
        let mut interest = self.lock()?;
        interest.prune();
        let before = interest.items.len();
        interest.items.retain(|i| !i.is(fd, file));
        if interest.items.len() == before {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    /// The epoll instances this one watches.
    fn children(&self) -> Result<Vec<Arc<Epoll>>> {
        let interest = self.lock()?;
        Ok(interest
            .items
            .iter()
            .filter_map(|i| i.file.upgrade())
            .filter_map(|f| Epoll::of(&f))
            .collect())
    }

    /// True if `target` is this instance or one it watches, directly or not.
    fn reaches(&self, target: &Arc<Epoll>, depth: usize) -> Result<bool> {
        if std::ptr::eq(self, Arc::as_ptr(target)) {
            return Ok(true);
        }
        if depth > MAX_NESTS + 1 {
            return Ok(false);
        }
        for child in self.children()? {
            if child.reaches(target, depth + 1)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// How many levels of epoll instances this one watches.
    fn depth(&self, level: usize) -> Result<usize> {
        let mut deepest = 0;
        if level > MAX_NESTS {
            return Ok(deepest);
        }
        for child in self.children()? {
            deepest = deepest.max(1 + child.depth(level + 1)?);
        }
        Ok(deepest)
    }

    /// How many levels of epoll instances watch this one.
    fn height(&self, level: usize) -> Result<usize> {
        let parents: Vec<Arc<Epoll>> = {
            let mut parents = super::lock(&self.parents)?;
            parents.retain(|p| p.strong_count() > 0);
            parents.iter().filter_map(Weak::upgrade).collect()
        };
        let mut highest = 0;
        if level > MAX_NESTS {
            return Ok(highest);
        }
        for parent in parents {
            let watches_me = parent.children()?.iter().any(|c| std::ptr::eq(Arc::as_ptr(c), self));
            if watches_me {
                highest = highest.max(1 + parent.height(level + 1)?);
            }
        }
        Ok(highest)
    }

    /// Looks at the items in order and finds up to `max` to report. A
    /// consuming scan (epoll_wait) records what it saw; otherwise (poll of
    /// the epoll file) nothing changes. Also returns how to wait when
    /// nothing was found.
    pub fn scan(&self, max: usize, consume: bool) -> Result<(Vec<Event>, WakeHint)> {
        let depth = SCAN_DEPTH.with(|d| d.get());
        if depth > MAX_NESTS + 1 {
            // Only a loop made by racing adds gets here.
            return Ok((Vec::new(), WakeHint::Poll));
        }
        let snapshot = {
            let mut interest = self.lock()?;
            interest.prune();
            interest.items.clone()
        };
        SCAN_DEPTH.with(|d| d.set(depth + 1));
        let mut events = Vec::new();
        let mut looks = Vec::new();
        let mut hint = WakeHint::Notified;
        for item in &snapshot {
            if events.len() >= max {
                break;
            }
            let Some(file) = item.file.upgrade() else { continue };
            if !item.armed {
                continue;
            }
            let look = Look::of(item, &file);
            if look.reported {
                events.push((look.ready as u16 as u32, item.data));
            } else {
                hint = hint.and(file.ops.wake_hint());
            }
            looks.push(look);
        }
        SCAN_DEPTH.with(|d| d.set(depth));
        if consume {
            self.lock()?.apply(&looks);
        }
        Ok((events, hint))
    }

    /// Sum of the watched files' event counters (an epoll file's own).
    fn events_seen(&self) -> u64 {
        let snapshot = match self.lock() {
            Ok(interest) => interest.items.clone(),
            Err(_) => return 0,
        };
        snapshot
            .iter()
            .filter_map(|item| Some(item.file.upgrade()?.ops.event_count(item.wanted())))
            .fold(0, u64::wrapping_add)
    }
}

/// The file operations of an epoll descriptor: no read or write, poll
/// says whether epoll_wait would report something now.
pub struct EpollFile(pub Arc<Epoll>);

impl FileOps for EpollFile {
    fn read(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _buf: &[u8], _offset: u64) -> Result<usize> {
        Err(Errno::EINVAL)
    }
    fn seekable(&self) -> bool {
        false
    }
    fn seek_is_noop(&self) -> bool {
        true
    }
    fn poll(&self, events: i16) -> i16 {
        match self.0.scan(1, false) {
            Ok((found, _)) if !found.is_empty() => events & (libc::POLLIN | libc::POLLRDNORM),
            Ok(_) => 0,
            Err(_) => libc::POLLERR,
        }
    }
    fn wake_hint(&self) -> WakeHint {
        self.0.scan(1, false).map_or(WakeHint::Poll, |(_, hint)| hint)
    }
    fn event_count(&self, _events: i16) -> u64 {
        self.0.events_seen()
    }
}

/// A new epoll instance and its open file description (O_RDWR).
pub fn new_file() -> Arc<OpenFile> {
    let epoll = Arc::new(Epoll::default());
    let ops = Arc::new(EpollFile(epoll.clone()));
    anon::new_file("eventpoll", epoll, ops, libc::O_RDWR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::pipe::new_pipe;
    use crate::vfs::Dentry;

    fn pipe_files() -> (Arc<OpenFile>, Arc<OpenFile>) {
        let (inode, r, w) = new_pipe();
        let dentry = Arc::new(Dentry {
            path: b"pipe:[test]".to_vec(),
            parent: None,
            inode,
        });
        (
            OpenFile::new(dentry.clone(), r, libc::O_RDONLY),
            OpenFile::new(dentry, w, libc::O_WRONLY),
        )
    }

    fn wait_now(ep: &Epoll) -> Vec<Event> {
        ep.scan(16, true).map(|(e, _)| e).unwrap_or_default()
    }

    #[test]
    fn level_and_edge_triggered() {
        let (r, w) = pipe_files();
        let ep = Arc::new(Epoll::default());
        ep.add(3, &r, libc::EPOLLIN as u32, 7).unwrap_or_default();
        ep.add(4, &r, libc::EPOLLIN as u32 | EPOLLET, 8).unwrap_or_default();
        assert!(wait_now(&ep).is_empty());
        assert_eq!(w.write(b"x"), Ok(1));
        let pollin = libc::EPOLLIN as u32;
        assert_eq!(wait_now(&ep), vec![(pollin, 7), (pollin, 8)]);
        // Still readable: only the level-triggered one again.
        assert_eq!(wait_now(&ep), vec![(pollin, 7)]);
        assert_eq!(w.write(b"y"), Ok(1));
        assert_eq!(wait_now(&ep), vec![(pollin, 8), (pollin, 7)]);
    }

    #[test]
    fn registration_goes_with_the_description() {
        let (r, w) = pipe_files();
        let ep = Arc::new(Epoll::default());
        assert_eq!(ep.add(3, &r, libc::EPOLLIN as u32, 1), Ok(()));
        assert_eq!(ep.add(3, &r, libc::EPOLLIN as u32, 1), Err(Errno::EEXIST));
        assert_eq!(w.write(b"x"), Ok(1));
        drop(r);
        assert!(wait_now(&ep).is_empty());
        assert!(ep.lock().map(|i| i.items.is_empty()).unwrap_or(false));
    }

    #[test]
    fn loops_are_refused() {
        let a = new_file();
        let b = new_file();
        let (ea, eb) = (Epoll::of(&a).unwrap_or_default(), Epoll::of(&b).unwrap_or_default());
        assert_eq!(ea.add(5, &b, libc::EPOLLIN as u32, 0), Ok(()));
        assert_eq!(eb.add(6, &a, libc::EPOLLIN as u32, 0), Err(Errno::ELOOP));
    }
}
