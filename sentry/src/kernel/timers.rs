//! Timers that send signals, and per-process attributes kept by the kernel
//! rather than by a task.
//!
//! - Interval timers (alarm(2), setitimer(2)): three per process (tgid),
//!   not inherited by fork, kept across execve.
//! - POSIX timers (timer_create(2)): per process, not inherited by fork,
//!   deleted by execve and at exit.
//! - One thread per kernel fires them: a heap of deadlines and a condvar.
//!   Heap entries carry the generation of the arming they belong to, so
//!   re-arming or deleting a timer never has to search the heap; stale
//!   entries are skipped when they come up.
//! - [`ProcessAttrTable`]: nice value and scheduling policy, the child
//!   subreaper flag, dumpability, the parent-death signal and the RSS
//!   high-water mark, by process.

use super::signals::{bit, SigInfo};
use super::Kernel;
use crate::errno::{Errno, Result};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

/// si_code of a POSIX timer's signal.
pub const SI_TIMER: i32 = -2;
/// si_code of the interval timers' signals (the kernel's SEND_SIG_PRIV).
pub const SI_KERNEL: i32 = 0x80;

pub const ITIMER_REAL: usize = 0;
pub const ITIMER_VIRTUAL: usize = 1;
pub const ITIMER_PROF: usize = 2;

/// POSIX timers a process may hold before timer_create says EAGAIN.
const MAX_POSIX_TIMERS: usize = 32768;
/// A periodic timer never fires again sooner than this after an expiry;
/// the periods skipped count as overruns. Keeps a tiny interval from
/// spinning the timer thread.
const MIN_REARM: Duration = Duration::from_micros(100);
/// Where a deadline past the end of `Instant`'s range is put.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A timer setting: the time to the next expiry (zero: disarmed) and the
/// period (zero: one-shot). Both relative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerValue {
    pub value: Duration,
    pub interval: Duration,
}

/// How a POSIX timer reports expiries (struct sigevent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// SIGEV_NONE: nothing; timer_gettime shows the progress.
    None,
    /// SIGEV_SIGNAL (to the process) or SIGEV_THREAD_ID (to a thread):
    /// `signo` with si_value `value` is posted to `target`.
    Signal { signo: i32, value: u64, target: i32 },
}

#[derive(Debug, Clone, Copy)]
struct Armed {
    deadline: Instant,
    interval: Duration,
    /// Matches the heap entry that fires this arming.
    gen: u64,
}

struct PosixTimer {
    clock: i32,
    notify: Notify,
    armed: Option<Armed>,
    /// Changes at every timer_settime: a delivery result for an older
    /// setting does not touch the overrun counts.
    epoch: u64,
    /// Expiries that found the previous signal still pending.
    overrun_pending: u64,
    /// The overrun count reported with the last signal sent.
    overrun_last: i32,
}

#[derive(Default)]
struct ProcessTimers {
    itimers: [Option<Armed>; 3],
    posix: BTreeMap<i32, PosixTimer>,
    next_id: i32,
}

/// Which timer of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    Itimer(usize),
    Posix(i32),
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct HeapEntry {
    deadline: Instant,
    gen: u64,
    tgid: i32,
    slot: Slot,
}

/// One expiry, handed to the delivery side outside the timers' lock.
#[derive(Debug, Clone, Copy)]
pub struct Fire {
    /// Where the signal goes (a tgid, or a tid for SIGEV_THREAD_ID).
    pub target: i32,
    pub info: SigInfo,
    /// Whether an expiry that finds the previous signal still pending
    /// counts as an overrun instead of sending a second signal.
    pub counts_overruns: bool,
    tgid: i32,
    slot: Slot,
    epoch: u64,
    /// Whole periods that passed unnoticed before this expiry.
    missed: u64,
    /// si_overrun of the signal.
    overrun: i32,
}

/// What became of a [`Fire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Posted,
    /// The timer's previous signal has not been delivered yet.
    StillPending,
    /// The target no longer exists.
    NoTarget,
    /// The kernel is gone: the timer thread ends.
    Shutdown,
}

/// Delivers expiries; runs on the timer thread.
pub type Sink = Box<dyn Fn(&Fire) -> Delivery + Send>;

#[derive(Default)]
struct State {
    procs: HashMap<i32, ProcessTimers>,
    heap: BinaryHeap<Reverse<HeapEntry>>,
    next_gen: u64,
    shutdown: bool,
    started: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

/// The timers of every process of a kernel, and the thread that fires them.
pub struct Timers {
    shared: Arc<Shared>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers::new()
    }
}

fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

fn nanos(d: Duration) -> u128 {
    d.as_nanos()
}

fn from_nanos(n: u128) -> Duration {
    let secs = u64::try_from(n / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (n % 1_000_000_000) as u32)
}

/// The next expiry of a periodic timer that expired at `deadline`, seen at
/// `now`: the first period boundary at least [`MIN_REARM`] after `now`,
/// and the number of periods skipped on the way (the overruns).
pub fn advance(deadline: Instant, interval: Duration, now: Instant) -> (Instant, u64) {
    let period = nanos(interval).max(1);
    let earliest = after(now, MIN_REARM);
    let behind = nanos(earliest.saturating_duration_since(deadline));
    // Periods to add so that deadline + k*period >= earliest, at least one.
    let k = behind.div_ceil(period).max(1);
    let next = after(deadline, from_nanos(k.saturating_mul(period)));
    (next, u64::try_from(k - 1).unwrap_or(u64::MAX))
}

impl State {
    fn gen(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }

    /// Arms (or with a zero value, disarms) and queues the heap entry.
    fn arm(&mut self, tgid: i32, slot: Slot, now: Instant, v: TimerValue) -> Option<Armed> {
        if v.value.is_zero() {
            return None;
        }
        let armed = Armed {
            deadline: after(now, v.value),
            interval: v.interval,
            gen: self.gen(),
        };
        self.heap.push(Reverse(HeapEntry {
            deadline: armed.deadline,
            gen: armed.gen,
            tgid,
            slot,
        }));
        Some(armed)
    }

    fn armed_mut(&mut self, tgid: i32, slot: Slot) -> Option<&mut Option<Armed>> {
        let p = self.procs.get_mut(&tgid)?;
        match slot {
            Slot::Itimer(which) => p.itimers.get_mut(which),
            Slot::Posix(id) => p.posix.get_mut(&id).map(|t| &mut t.armed),
        }
    }

    /// The earliest live deadline; stale heap entries are dropped.
    fn next_deadline(&mut self) -> Option<Instant> {
        loop {
            let (deadline, tgid, slot, gen) = self
                .heap
                .peek()
                .map(|Reverse(top)| (top.deadline, top.tgid, top.slot, top.gen))?;
            if matches!(self.armed_mut(tgid, slot), Some(Some(a)) if a.gen == gen) {
                return Some(deadline);
            }
            self.heap.pop();
        }
    }

    /// Takes every expiry due at `now`, re-arming periodic timers.
    fn due(&mut self, now: Instant) -> Vec<Fire> {
        let mut fires = Vec::new();
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.deadline > now {
                break;
            }
            let Some(Reverse(entry)) = self.heap.pop() else { break };
            let Some(slot_state) = self.armed_mut(entry.tgid, entry.slot) else {
                continue;
            };
            let Some(armed) = *slot_state else { continue };
            if armed.gen != entry.gen {
                continue;
            }
            let mut missed = 0;
            let next = if armed.interval.is_zero() {
                None
            } else {
                let (deadline, skipped) = advance(armed.deadline, armed.interval, now);
                missed = skipped;
                Some((deadline, armed.interval))
            };
            let new_gen = next.map(|_| self.gen());
            if let Some(slot_state) = self.armed_mut(entry.tgid, entry.slot) {
                *slot_state = next.zip(new_gen).map(|((deadline, interval), gen)| Armed {
                    deadline,
                    interval,
                    gen,
                });
            }
            if let (Some((deadline, _)), Some(gen)) = (next, new_gen) {
                self.heap.push(Reverse(HeapEntry {
                    deadline,
                    gen,
                    tgid: entry.tgid,
                    slot: entry.slot,
                }));
            }
            if let Some(fire) = self.fire_for(entry.tgid, entry.slot, missed) {
                fires.push(fire);
            }
        }
        fires
    }

    fn fire_for(&self, tgid: i32, slot: Slot, missed: u64) -> Option<Fire> {
        match slot {
            Slot::Itimer(which) => {
                let signo = [libc::SIGALRM, libc::SIGVTALRM, libc::SIGPROF][which];
                Some(Fire {
                    target: tgid,
                    info: kernel_siginfo(tgid, signo, SI_KERNEL, [0; 3]),
                    counts_overruns: false,
                    tgid,
                    slot,
                    epoch: 0,
                    missed,
                    overrun: 0,
                })
            }
            Slot::Posix(id) => {
                let timer = self.procs.get(&tgid)?.posix.get(&id)?;
                let Notify::Signal { signo, value, target } = timer.notify else {
                    return None;
                };
                let overrun = timer.overrun_pending.saturating_add(missed).min(i32::MAX as u64) as i32;
                // The _timer member of siginfo_t: si_tid, si_overrun, si_value.
                let fields = [id as u32 as u64, overrun as u32 as u64, value];
                Some(Fire {
                    target,
                    info: kernel_siginfo(tgid, signo, SI_TIMER, fields),
                    counts_overruns: true,
                    tgid,
                    slot,
                    epoch: timer.epoch,
                    missed,
                    overrun,
                })
            }
        }
    }

    /// Records what happened to a timer's signal. A process that is gone
    /// loses its timers (in case its exit was not reported).
    fn settle(&mut self, fire: &Fire, delivery: Delivery) {
        if delivery == Delivery::NoTarget && fire.target == fire.tgid {
            self.procs.remove(&fire.tgid);
            return;
        }
        let Slot::Posix(id) = fire.slot else { return };
        let Some(timer) = self.procs.get_mut(&fire.tgid).and_then(|p| p.posix.get_mut(&id)) else {
            return;
        };
        if timer.epoch != fire.epoch {
            return;
        }
        match delivery {
            Delivery::Posted => {
                timer.overrun_last = fire.overrun;
                timer.overrun_pending = 0;
            }
            Delivery::StillPending => {
                timer.overrun_pending = timer.overrun_pending.saturating_add(1).saturating_add(fire.missed);
            }
            Delivery::NoTarget | Delivery::Shutdown => {}
        }
    }

    fn posix(&mut self, tgid: i32, id: i32) -> Result<&mut PosixTimer> {
        self.procs
            .get_mut(&tgid)
            .and_then(|p| p.posix.get_mut(&id))
            .ok_or(Errno::EINVAL)
    }
}

/// A signal the kernel generates for process `tgid`: its siginfo has
/// si_signo, si_code and, at offsets 16, 20 and 24, `fields` (32, 32 and 64
/// bits). The sender counts as the process itself, so a container init
/// ignores it when its action is SIG_DFL, as Linux's init does.
fn kernel_siginfo(tgid: i32, signo: i32, code: i32, fields: [u64; 3]) -> SigInfo {
    let mut raw = [0u8; 128];
    raw[0..4].copy_from_slice(&signo.to_le_bytes());
    raw[8..12].copy_from_slice(&code.to_le_bytes());
    raw[16..20].copy_from_slice(&(fields[0] as u32).to_le_bytes());
    raw[20..24].copy_from_slice(&(fields[1] as u32).to_le_bytes());
    raw[24..32].copy_from_slice(&fields[2].to_le_bytes());
    SigInfo {
        signo,
        code,
        pid_or_addr: tgid as u64,
        raw: Some(raw),
        ..Default::default()
    }
}

/// What is left of an arming at `now`. An armed timer whose expiry is due
/// but not yet handled reports `overdue` rather than zero, as Linux does.
fn remaining(armed: Option<Armed>, now: Instant, overdue: Duration) -> TimerValue {
    match armed {
        None => TimerValue::default(),
        Some(a) => {
            let left = a.deadline.saturating_duration_since(now);
            TimerValue {
                value: if left.is_zero() { overdue } else { left },
                interval: a.interval,
            }
        }
    }
}

impl Timers {
    pub fn new() -> Timers {
        Timers {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned state is still
        // consistent.
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the timer thread with `sink` unless it runs already.
    pub fn start_with(&self, sink: impl FnOnce() -> Sink) -> Result<()> {
        let mut st = self.lock();
        if st.started {
            return Ok(());
        }
        let shared = self.shared.clone();
        let sink = sink();
        std::thread::Builder::new()
            .name("timers".into())
            .spawn(move || run(shared, sink))
            .map_err(|_| Errno::EAGAIN)?;
        st.started = true;
        Ok(())
    }

    /// Starts the timer thread, delivering to `kernel`'s processes.
    pub fn start(&self, kernel: &Arc<Kernel>) -> Result<()> {
        self.start_with(|| kernel_sink(Arc::downgrade(kernel)))
    }

    fn changed(&self) {
        self.shared.changed.notify_all();
    }

    /// setitimer(2) for timer `which` of process `tgid`; returns the old
    /// setting.
    pub fn set_itimer(&self, tgid: i32, which: usize, new: TimerValue) -> TimerValue {
        if which > ITIMER_PROF {
            return TimerValue::default();
        }
        let now = Instant::now();
        let overdue = Duration::from_micros(1);
        let mut st = self.lock();
        let armed = st.arm(tgid, Slot::Itimer(which), now, new);
        let p = st.procs.entry(tgid).or_default();
        let Some(slot) = p.itimers.get_mut(which) else {
            return TimerValue::default();
        };
        let old = std::mem::replace(slot, armed);
        drop(st);
        self.changed();
        remaining(old, now, overdue)
    }

    /// getitimer(2).
    pub fn get_itimer(&self, tgid: i32, which: usize) -> TimerValue {
        let st = self.lock();
        let armed = st
            .procs
            .get(&tgid)
            .and_then(|p| p.itimers.get(which).copied().flatten());
        remaining(armed, Instant::now(), Duration::from_micros(1))
    }

    /// timer_create(2): a disarmed timer on `clock`; returns its id. With
    /// `value_is_id` the signal's si_value is the new id (what a NULL
    /// sigevent asks for).
    pub fn create(&self, tgid: i32, clock: i32, notify: Notify, value_is_id: bool) -> Result<i32> {
        let mut st = self.lock();
        let epoch = st.gen();
        let p = st.procs.entry(tgid).or_default();
        if p.posix.len() >= MAX_POSIX_TIMERS {
            return Err(Errno::EAGAIN);
        }
        let mut id = p.next_id;
        while p.posix.contains_key(&id) {
            id = id.checked_add(1).unwrap_or(0);
        }
        p.next_id = id.checked_add(1).unwrap_or(0);
        let notify = match notify {
            Notify::Signal { signo, target, .. } if value_is_id => Notify::Signal {
                signo,
                value: id as u64,
                target,
            },
            n => n,
        };
        p.posix.insert(
            id,
            PosixTimer {
                clock,
                notify,
                armed: None,
                epoch,
                overrun_pending: 0,
                overrun_last: 0,
            },
        );
        Ok(id)
    }

    /// The clock a timer was created on (for TIMER_ABSTIME conversions).
    pub fn clock_of(&self, tgid: i32, id: i32) -> Result<i32> {
        Ok(self.lock().posix(tgid, id)?.clock)
    }

    /// timer_settime(2) with a relative `new.value`; returns the old setting.
    pub fn settime(&self, tgid: i32, id: i32, new: TimerValue) -> Result<TimerValue> {
        let now = Instant::now();
        let mut st = self.lock();
        st.posix(tgid, id)?;
        let armed = st.arm(tgid, Slot::Posix(id), now, new);
        let epoch = st.gen();
        let timer = st.posix(tgid, id)?;
        let old = std::mem::replace(&mut timer.armed, armed);
        let overdue = overdue_for(timer.notify);
        timer.epoch = epoch;
        timer.overrun_pending = 0;
        timer.overrun_last = 0;
        drop(st);
        self.changed();
        Ok(remaining(old, now, overdue))
    }

    /// timer_gettime(2).
    pub fn gettime(&self, tgid: i32, id: i32) -> Result<TimerValue> {
        let mut st = self.lock();
        let timer = st.posix(tgid, id)?;
        Ok(remaining(timer.armed, Instant::now(), overdue_for(timer.notify)))
    }

    /// timer_getoverrun(2).
    pub fn getoverrun(&self, tgid: i32, id: i32) -> Result<i32> {
        Ok(self.lock().posix(tgid, id)?.overrun_last)
    }

    /// timer_delete(2). A signal it already queued stays pending.
    pub fn delete(&self, tgid: i32, id: i32) -> Result<()> {
        let mut st = self.lock();
        st.procs
            .get_mut(&tgid)
            .and_then(|p| p.posix.remove(&id))
            .ok_or(Errno::EINVAL)?;
        Ok(())
    }

    /// Hook: process `tgid` has exited; its timers go.
    pub fn process_exited(&self, tgid: i32) {
        self.lock().procs.remove(&tgid);
    }

    /// Hook: process `tgid` has exec'd; its POSIX timers go (timer_create(2)),
    /// its interval timers stay (setitimer(2)).
    pub fn process_execed(&self, tgid: i32) {
        if let Some(p) = self.lock().procs.get_mut(&tgid) {
            p.posix.clear();
        }
    }
}

/// A SIGEV_NONE timer that is due reads as zero; others as 1ns.
fn overdue_for(notify: Notify) -> Duration {
    match notify {
        Notify::None => Duration::ZERO,
        Notify::Signal { .. } => Duration::from_nanos(1),
    }
}

impl Drop for Timers {
    fn drop(&mut self) {
        self.lock().shutdown = true;
        self.changed();
    }
}

/// The timer thread: fires what is due, then sleeps until the next
/// deadline or a change.
fn run(shared: Arc<Shared>, sink: Sink) {
    let lock = || shared.state.lock().unwrap_or_else(PoisonError::into_inner);
    let mut st = lock();
    loop {
        if st.shutdown {
            return;
        }
        let now = Instant::now();
        let fires = st.due(now);
        if !fires.is_empty() {
            drop(st);
            let mut results = Vec::with_capacity(fires.len());
            for fire in &fires {
                results.push(sink(fire));
            }
            st = lock();
            for (fire, delivery) in fires.iter().zip(&results) {
                st.settle(fire, *delivery);
            }
            if results.contains(&Delivery::Shutdown) {
                return;
            }
            continue;
        }
        st = match st.next_deadline() {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(now);
                shared
                    .changed
                    .wait_timeout(st, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => shared.changed.wait(st).unwrap_or_else(PoisonError::into_inner),
        };
    }
}

/// Posts expiries to a kernel's signal queues.
fn kernel_sink(kernel: Weak<Kernel>) -> Sink {
    Box::new(move |fire: &Fire| {
        let Some(kernel) = kernel.upgrade() else {
            return Delivery::Shutdown;
        };
        let queue = kernel
            .signal_queues
            .lock()
            .ok()
            .and_then(|q| q.get(&fire.target).cloned());
        let Some(queue) = queue else {
            return Delivery::NoTarget;
        };
        if fire.counts_overruns && queue.pending_set() & bit(fire.info.signo) != 0 {
            return Delivery::StillPending;
        }
        match kernel.post_signal(fire.target, fire.info) {
            Ok(()) => Delivery::Posted,
            Err(_) => Delivery::NoTarget,
        }
    })
}

/// SCHED_* policies (sched(7)).
pub const SCHED_OTHER: i32 = 0;
pub const SCHED_FIFO: i32 = 1;
pub const SCHED_RR: i32 = 2;
pub const SCHED_BATCH: i32 = 3;
pub const SCHED_IDLE: i32 = 5;
pub const SCHED_DEADLINE: i32 = 6;
/// SUID_DUMP_USER: the default dumpability.
pub const DUMPABLE_DEFAULT: i32 = 1;

/// What the kernel keeps per process beyond its tasks (Linux keeps some of
/// these per thread; here they are per process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessAttrs {
    /// -20..=19.
    pub nice: i32,
    pub policy: i32,
    /// sched_param.sched_priority (1..=99 for SCHED_FIFO/RR, else 0).
    pub rt_priority: i32,
    /// SCHED_RESET_ON_FORK.
    pub reset_on_fork: bool,
    /// PR_SET_CHILD_SUBREAPER.
    pub child_subreaper: bool,
    /// PR_SET_DUMPABLE (SUID_DUMP_*).
    pub dumpable: i32,
    /// ru_maxrss in KiB: the largest mapped size seen.
    pub maxrss_kb: u64,
    /// ru_maxrss for RUSAGE_CHILDREN: the largest of exited children.
    pub children_maxrss_kb: u64,
    /// The parent at fork, for children_maxrss_kb.
    pub parent: i32,
    /// sched_setaffinity(2): bit N allows CPU N; 0 allows every CPU.
    /// Inherited by fork children. Guest threads still run where the host
    /// schedules their Sentry threads.
    pub cpu_mask: u64,
    /// PR_SET_TIMERSLACK (ns; recorded only: timers here are not coalesced),
    /// and what PR_SET_TIMERSLACK 0 goes back to: the parent's value at fork.
    pub timer_slack_ns: u64,
    pub default_timer_slack_ns: u64,
    /// PR_SET_THP_DISABLE (recorded only: the Sentry maps no huge pages).
    pub thp_disable: bool,
    /// personality(2) (recorded only: PER_LINUX with flags such as
    /// ADDR_NO_RANDOMIZE, which this Sentry's layout does not follow).
    pub personality: u32,
    /// The host pid of the stub its code runs in (see kernel/cputime.rs).
    pub host_pid: i32,
    /// CPU time not in the stub's clock: the user time of address spaces
    /// before an execve, and the system time of exited threads.
    pub cpu_carried: super::cputime::Usage,
    /// RUSAGE_CHILDREN: the CPU time of exited children (and theirs).
    pub children_cpu: super::cputime::Usage,
    /// membarrier(2) registrations (MEMBARRIER_CMD_REGISTER_* bits), kept
    /// by fork and cleared by execve.
    pub membarrier: u32,
}

/// The timer slack of init (prctl(2) PR_SET_TIMERSLACK).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

impl Default for ProcessAttrs {
    fn default() -> Self {
        ProcessAttrs {
            nice: 0,
            policy: SCHED_OTHER,
            rt_priority: 0,
            reset_on_fork: false,
            child_subreaper: false,
            dumpable: DUMPABLE_DEFAULT,
            maxrss_kb: 0,
            children_maxrss_kb: 0,
            parent: 0,
            cpu_mask: 0,
            timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            default_timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            thp_disable: false,
            personality: 0,
            host_pid: 0,
            cpu_carried: Default::default(),
            children_cpu: Default::default(),
            membarrier: 0,
        }
    }
}

impl ProcessAttrs {
    /// What a fork child starts with (sched(7) for SCHED_RESET_ON_FORK;
    /// prctl(2): the subreaper flag is not inherited).
    pub fn for_child(&self, parent: i32) -> ProcessAttrs {
        let mut child = ProcessAttrs {
            child_subreaper: false,
            maxrss_kb: 0,
            children_maxrss_kb: 0,
            parent,
            default_timer_slack_ns: self.timer_slack_ns,
            host_pid: 0,
            cpu_carried: Default::default(),
            children_cpu: Default::default(),
            ..*self
        };
        if self.reset_on_fork {
            child.reset_on_fork = false;
            if matches!(self.policy, SCHED_FIFO | SCHED_RR) {
                child.policy = SCHED_OTHER;
                child.rt_priority = 0;
            }
            child.nice = child.nice.max(0);
        }
        child
    }
}

#[derive(Debug, Clone, Copy)]
struct DeathSignal {
    tgid: i32,
    parent: i32,
    signo: i32,
}

#[derive(Default)]
struct AttrState {
    procs: HashMap<i32, ProcessAttrs>,
    /// The final CPU time and peak RSS (KiB) of exited processes, until
    /// their parent reaps them.
    exited_cpu: HashMap<i32, (super::cputime::Usage, u64)>,
    /// PR_SET_PDEATHSIG, by tid.
    pdeath: HashMap<i32, DeathSignal>,
}

/// [`ProcessAttrs`] of every process, and parent-death signals.
#[derive(Default)]
pub struct ProcessAttrTable {
    inner: Mutex<AttrState>,
}

impl ProcessAttrTable {
    fn lock(&self) -> MutexGuard<'_, AttrState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, tgid: i32) -> ProcessAttrs {
        self.lock().procs.get(&tgid).copied().unwrap_or_default()
    }

    /// The CPU time and peak RSS (KiB) process `tgid` had when it exited;
    /// taken when its parent reaps it (wait4(2) and waitid(2) rusage).
    pub fn take_exited_cpu(&self, tgid: i32) -> (super::cputime::Usage, u64) {
        self.lock().exited_cpu.remove(&tgid).unwrap_or_default()
    }

    /// The CPU time live process `tgid` has used: its stub's clock plus what
    /// it carries; `own_thread` adds the calling Sentry thread's time when
    /// it serves that process (other live threads' is counted at their exit).
    pub fn cpu_of(&self, tgid: i32, own_thread: bool) -> super::cputime::Usage {
        let attrs = self.get(tgid);
        let mut usage = attrs.cpu_carried;
        usage.user += super::cputime::host_process(attrs.host_pid);
        if own_thread {
            usage.system += super::cputime::this_thread();
        }
        usage
    }

    /// Changes process `tgid`'s attributes under the table's lock.
    pub fn update<R>(&self, tgid: i32, f: impl FnOnce(&mut ProcessAttrs) -> R) -> R {
        f(self.lock().procs.entry(tgid).or_default())
    }

    /// PR_SET_PDEATHSIG for thread `tid` of `tgid` whose parent is `parent`
    /// (0 clears).
    pub fn set_pdeathsig(&self, tid: i32, tgid: i32, parent: i32, signo: i32) {
        let mut st = self.lock();
        if signo == 0 {
            st.pdeath.remove(&tid);
        } else {
            st.pdeath.insert(tid, DeathSignal { tgid, parent, signo });
        }
    }

    pub fn pdeathsig(&self, tid: i32) -> i32 {
        self.lock().pdeath.get(&tid).map(|d| d.signo).unwrap_or(0)
    }

    /// Hook: `child` was forked from `parent`.
    pub fn forked(&self, parent: i32, child: i32) {
        let mut st = self.lock();
        let attrs = st.procs.get(&parent).copied().unwrap_or_default().for_child(parent);
        st.procs.insert(child, attrs);
    }

    /// Hook: `tgid` has exec'd: dumpable again (no set-user-ID binaries here).
    pub fn execed(&self, tgid: i32) {
        self.update(tgid, |a| {
            a.dumpable = DUMPABLE_DEFAULT;
            a.membarrier = 0;
        });
    }

    /// Hook: `tgid` has exited, having used `cpu` in all. Returns the
    /// parent-death signals to send, as (process, signal); those children
    /// now have init as parent.
    pub fn exited(&self, tgid: i32, init: i32, cpu: super::cputime::Usage) -> Vec<(i32, i32)> {
        let mut st = self.lock();
        if let Some(gone) = st.procs.remove(&tgid) {
            let rss = gone.maxrss_kb.max(gone.children_maxrss_kb);
            let mut with_children = cpu;
            with_children += gone.children_cpu;
            if let Some(parent) = st.procs.get_mut(&gone.parent) {
                parent.children_maxrss_kb = parent.children_maxrss_kb.max(rss);
                // getrusage(2): RUSAGE_CHILDREN counts the descendants that
                // were waited for, which here is every exited one.
                parent.children_cpu += with_children;
            }
            st.exited_cpu.insert(tgid, (cpu, gone.maxrss_kb));
        }
        st.pdeath.retain(|_, d| d.tgid != tgid);
        let mut out = Vec::new();
        for d in st.pdeath.values_mut() {
            if d.parent == tgid {
                out.push((d.tgid, d.signo));
                d.parent = init;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn one_shot(v: u64) -> TimerValue {
        TimerValue {
            value: ms(v),
            interval: Duration::ZERO,
        }
    }

    #[test]
    fn advance_skips_missed_periods() {
        let t0 = Instant::now();
        // On time: the next period.
        assert_eq!(advance(t0, ms(10), t0), (t0 + ms(10), 0));
        // 35ms late with a 10ms period: 40 is the next boundary after now,
        // the boundaries at 10, 20 and 30 were missed.
        assert_eq!(advance(t0, ms(10), t0 + ms(35)), (t0 + ms(40), 3));
        // Exactly on a boundary: that one is past (MIN_REARM), next is 30.
        assert_eq!(advance(t0, ms(10), t0 + ms(20)), (t0 + ms(30), 2));
        // A period below MIN_REARM never schedules closer than MIN_REARM.
        let (next, skipped) = advance(t0, Duration::from_nanos(10), t0);
        assert!(next >= t0 + MIN_REARM);
        assert_eq!(skipped, 100_000 / 10 - 1);
    }

    #[test]
    fn due_fires_in_deadline_order_and_rearms_periodic() {
        let mut st = State::default();
        let t0 = Instant::now();
        for (tgid, slot, v) in [
            (1, Slot::Itimer(ITIMER_REAL), one_shot(32)),
            (2, Slot::Itimer(ITIMER_REAL), one_shot(10)),
            (
                3,
                Slot::Itimer(ITIMER_PROF),
                TimerValue {
                    value: ms(20),
                    interval: ms(5),
                },
            ),
        ] {
            let armed = st.arm(tgid, slot, t0, v);
            let Slot::Itimer(w) = slot else { unreachable!() };
            st.procs.entry(tgid).or_default().itimers[w] = armed;
        }
        assert!(st.due(t0 + ms(9)).is_empty());
        let fired: Vec<(i32, i32)> = st.due(t0 + ms(25)).iter().map(|f| (f.target, f.info.signo)).collect();
        assert_eq!(fired, vec![(2, libc::SIGALRM), (3, libc::SIGPROF)]);
        // The periodic timer is re-armed for 30 (its boundary at 25 is
        // past); the one-shot is done.
        assert!(st.procs[&2].itimers[ITIMER_REAL].is_none());
        let prof = st.procs[&3].itimers[ITIMER_PROF].unwrap();
        assert_eq!(prof.deadline, t0 + ms(30));
        let fired: Vec<i32> = st.due(t0 + ms(33)).iter().map(|f| f.target).collect();
        assert_eq!(fired, vec![3, 1]);
        assert_eq!(st.next_deadline(), Some(t0 + ms(35)));
    }

    #[test]
    fn rearming_invalidates_the_old_heap_entry() {
        let mut st = State::default();
        let t0 = Instant::now();
        let a = st.arm(7, Slot::Itimer(0), t0, one_shot(10));
        st.procs.entry(7).or_default().itimers[0] = a;
        let b = st.arm(7, Slot::Itimer(0), t0, one_shot(50));
        st.procs.entry(7).or_default().itimers[0] = b;
        assert!(st.due(t0 + ms(20)).is_empty());
        assert_eq!(st.next_deadline(), Some(t0 + ms(50)));
        assert_eq!(st.due(t0 + ms(50)).len(), 1);
        assert_eq!(st.next_deadline(), None);
    }

    #[test]
    fn posix_overruns_count_while_the_signal_is_pending() {
        let timers = Timers::new();
        let id = timers
            .create(
                4,
                libc::CLOCK_MONOTONIC,
                Notify::Signal {
                    signo: 40,
                    value: 0,
                    target: 4,
                },
                true,
            )
            .unwrap();
        assert_eq!(id, 0);
        let periodic = TimerValue {
            value: ms(10),
            interval: ms(10),
        };
        timers.settime(4, id, periodic).unwrap();
        let mut st = timers.lock();
        let t0 = Instant::now();
        // First expiry, on time: si_value is the id, no overrun.
        let fires = st.due(t0 + ms(12));
        assert_eq!(fires.len(), 1);
        let f = fires[0];
        let raw = f.info.raw.unwrap();
        assert_eq!((f.info.code, f.overrun), (SI_TIMER, 0));
        assert_eq!(i32::from_le_bytes(raw[8..12].try_into().unwrap()), SI_TIMER);
        assert_eq!(
            u64::from_le_bytes(raw[24..32].try_into().unwrap()),
            0,
            "si_value is the id"
        );
        // Its signal is not delivered before the next expiry (at 20): one
        // overrun.
        let fires = st.due(t0 + ms(21));
        st.settle(&fires[0], Delivery::StillPending);
        // The expiry due at 30 is handled late, at 55: the boundaries at 40
        // and 50 passed unseen. Nothing is pending now: the signal carries
        // 1 + 2 overruns.
        let fires = st.due(t0 + ms(55));
        assert_eq!(fires.len(), 1);
        assert_eq!(fires[0].overrun, 3);
        assert_eq!(fires[0].info.raw.unwrap()[20], 3, "si_overrun");
        st.settle(&fires[0], Delivery::Posted);
        assert_eq!(st.posix(4, id).unwrap().overrun_last, 3);
        drop(st);
        // A new setting starts counting afresh.
        timers.settime(4, id, periodic).unwrap();
        assert_eq!(timers.getoverrun(4, id), Ok(0));
    }

    #[test]
    fn ids_values_and_deletion() {
        let timers = Timers::new();
        let sig = |value| Notify::Signal {
            signo: libc::SIGALRM,
            value,
            target: 9,
        };
        assert_eq!(timers.create(9, 0, sig(77), false), Ok(0));
        assert_eq!(timers.create(9, 0, sig(0), true), Ok(1));
        assert_eq!(timers.create(10, 0, Notify::None, false), Ok(0));
        {
            let st = timers.lock();
            assert_eq!(st.procs[&9].posix[&0].notify, sig(77));
            assert_eq!(st.procs[&9].posix[&1].notify, sig(1));
        }
        assert_eq!(timers.delete(9, 0), Ok(()));
        assert_eq!(timers.delete(9, 0), Err(Errno::EINVAL));
        assert_eq!(timers.gettime(9, 0), Err(Errno::EINVAL));
        assert_eq!(timers.gettime(10, 1), Err(Errno::EINVAL));
        timers.process_execed(9);
        assert_eq!(timers.gettime(9, 1), Err(Errno::EINVAL));
    }

    #[test]
    fn itimer_get_and_set_report_the_remaining_time() {
        let timers = Timers::new();
        let v = TimerValue {
            value: Duration::from_secs(5),
            interval: Duration::from_secs(1),
        };
        assert_eq!(timers.set_itimer(3, ITIMER_REAL, v), TimerValue::default());
        let got = timers.get_itimer(3, ITIMER_REAL);
        assert_eq!(got.interval, v.interval);
        assert!(got.value <= v.value && got.value > Duration::from_secs(4));
        let old = timers.set_itimer(3, ITIMER_REAL, TimerValue::default());
        assert_eq!(old.interval, v.interval);
        assert_eq!(timers.get_itimer(3, ITIMER_REAL), TimerValue::default());
        // Other processes and the other timers are separate.
        assert_eq!(timers.get_itimer(4, ITIMER_REAL), TimerValue::default());
        timers.set_itimer(3, ITIMER_VIRTUAL, v);
        timers.process_exited(3);
        assert_eq!(timers.get_itimer(3, ITIMER_VIRTUAL), TimerValue::default());
    }

    #[test]
    fn the_thread_fires_periodic_timers_through_the_sink() {
        let timers = Timers::new();
        let (tx, rx) = mpsc::channel::<(i32, i32)>();
        timers
            .start_with(move || {
                Box::new(move |f: &Fire| {
                    let _ = tx.send((f.target, f.info.signo));
                    Delivery::Posted
                })
            })
            .unwrap();
        timers.set_itimer(
            5,
            ITIMER_REAL,
            TimerValue {
                value: ms(5),
                interval: ms(5),
            },
        );
        timers.set_itimer(6, ITIMER_REAL, one_shot(1));
        let mut seen = Vec::new();
        while seen.iter().filter(|(t, _)| *t == 5).count() < 3 {
            seen.push(rx.recv_timeout(Duration::from_secs(5)).expect("timer fired"));
        }
        assert!(seen.contains(&(6, libc::SIGALRM)));
        timers.set_itimer(5, ITIMER_REAL, TimerValue::default());
        drop(timers);
    }

    #[test]
    fn a_vanished_process_loses_its_timers() {
        let mut st = State::default();
        let t0 = Instant::now();
        let periodic = TimerValue {
            value: ms(1),
            interval: ms(1),
        };
        let armed = st.arm(8, Slot::Itimer(ITIMER_REAL), t0, periodic);
        st.procs.entry(8).or_default().itimers[ITIMER_REAL] = armed;
        let fires = st.due(t0 + ms(1));
        assert_eq!(fires.len(), 1);
        st.settle(&fires[0], Delivery::NoTarget);
        assert!(!st.procs.contains_key(&8));
        assert_eq!(st.next_deadline(), None);
    }

    #[test]
    fn process_attrs_follow_fork_exec_and_exit() {
        let t = ProcessAttrTable::default();
        t.update(1, |a| {
            a.nice = -5;
            a.child_subreaper = true;
            a.dumpable = 0;
        });
        t.forked(1, 2);
        let child = t.get(2);
        assert_eq!((child.nice, child.child_subreaper, child.dumpable), (-5, false, 0));
        t.execed(2);
        assert_eq!(t.get(2).dumpable, DUMPABLE_DEFAULT);
        t.update(1, |a| {
            a.reset_on_fork = true;
            a.policy = SCHED_FIFO;
            a.rt_priority = 10;
        });
        t.forked(1, 3);
        let c = t.get(3);
        assert_eq!(
            (c.policy, c.rt_priority, c.nice, c.reset_on_fork),
            (SCHED_OTHER, 0, 0, false)
        );
        // Parent-death signals go when the parent exits, once.
        t.set_pdeathsig(3, 3, 1, libc::SIGTERM);
        t.update(3, |a| a.maxrss_kb = 900);
        assert_eq!(t.pdeathsig(3), libc::SIGTERM);
        assert_eq!(t.exited(1, 1000, Default::default()), vec![(3, libc::SIGTERM)]);
        assert_eq!(t.exited(2, 1000, Default::default()), vec![]);
        t.exited(3, 1000, Default::default());
        assert_eq!(t.pdeathsig(3), 0);
    }
}
