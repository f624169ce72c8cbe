//! The syscall layer: one table indexed by syscall number naming each
//! handler and its support level, dispatch, and `--strace` output.

mod compat;
mod creds;
mod epoll;
mod eventfd;
mod file;
mod fileattr;
mod locks;
mod mem;
mod misc;
mod names;
mod paths;
mod poll;
mod process;
mod sched;
mod signal;
mod signalfd;
mod socket;
pub(crate) use socket::sockaddr_lookup;
mod table;
mod time;
mod timers;
mod tmpfile;
mod xattr;
mod xfer;

pub use compat::compatibility_markdown;
pub use creds::CAP_LAST_CAP;
pub use names::NAMES;
pub use process::{KERNEL_RELEASE, KERNEL_VERSION};
pub use table::{name_of, Entry, Support, TABLE};

use crate::errno::{Errno, Result};
use crate::kernel::Task;
use crate::mm::UserMemoryExt;
use std::sync::OnceLock;

/// The six raw syscall arguments.
#[derive(Debug, Clone, Copy)]
pub struct Args(pub [u64; 6]);

impl Args {
    pub fn u64(&self, i: usize) -> u64 {
        self.0[i]
    }
    pub fn i32(&self, i: usize) -> i32 {
        self.0[i] as i32
    }
    pub fn u32(&self, i: usize) -> u32 {
        self.0[i] as u32
    }
    pub fn usize(&self, i: usize) -> usize {
        self.0[i] as usize
    }
    /// An fd argument: Linux takes the low 32 bits as a signed int.
    pub fn fd(&self, i: usize) -> i32 {
        self.0[i] as i32
    }
}

pub type Handler = fn(&mut Task, Args) -> Result<u64>;

const MAX_SYSCALL: usize = 512;

fn lookup(nr: u64) -> Option<&'static Entry> {
    static BY_NUMBER: OnceLock<Vec<Option<&'static Entry>>> = OnceLock::new();
    let table = BY_NUMBER.get_or_init(|| {
        let mut v = vec![None; MAX_SYSCALL];
        for e in TABLE {
            v[e.nr as usize] = Some(e);
        }
        v
    });
    table.get(nr as usize).copied().flatten()
}

/// Runs the syscall in the task's registers and returns its result.
pub fn dispatch(task: &mut Task) -> Result<u64> {
    let nr = task.regs.orig_rax;
    let r = &task.regs;
    let args = Args([r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]);
    let entry = lookup(nr);
    let before = task.kernel.strace.then(|| describe_call(task, nr, entry, args));
    let result = match entry.and_then(|e| e.handler) {
        Some(handler) => handler(task, args),
        None => {
            if task.kernel.first_report(nr) {
                let name = entry.map(|e| e.name).or_else(|| name_of(nr)).unwrap_or("unknown");
                tracing::warn!("unimplemented syscall {name} ({nr}): returning ENOSYS");
            }
            Err(Errno::ENOSYS)
        }
    };
    if let Some(call) = before {
        let shown = match result {
            Ok(v) if task.regs_replaced || v < 0x10000 => format!("{v}"),
            Ok(v) => format!("{v:#x}"),
            Err(e) => format!("-1 {}", e.name()),
        };
        tracing::info!(target: "strace", "[{}] {call} = {shown}", task.tid);
    }
    result
}

/// "name(arg, arg, ...)" with paths and strings decoded.
fn describe_call(task: &Task, nr: u64, entry: Option<&Entry>, args: Args) -> String {
    let Some(entry) = entry else {
        return format!(
            "syscall_{nr}({:#x}, {:#x}, {:#x}, ...)",
            args.0[0], args.0[1], args.0[2]
        );
    };
    let shown: Vec<String> = entry
        .args
        .chars()
        .enumerate()
        .map(|(i, kind)| {
            let v = args.0[i];
            match kind {
                's' => match task.mm.read_cstring(v, 256) {
                    Ok(s) => format!("{:?}", String::from_utf8_lossy(&s)),
                    Err(_) => format!("{v:#x}"),
                },
                'd' => format!("{}", v as i64),
                'f' => format!("{}", v as i32),
                _ => format!("{v:#x}"),
            }
        })
        .collect();
    format!("{}({})", entry.name, shown.join(", "))
}
