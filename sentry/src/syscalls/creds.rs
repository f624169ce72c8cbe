//! Credentials: the set*id family, getres*id, setfs*id, supplementary
//! groups, and capability sets (credentials(7), capabilities(7)).
//!
//! Privilege is the capability in the effective set (CAP_SETUID,
//! CAP_SETGID, CAP_SETPCAP), as in Linux; a task whose ids start at 0 holds
//! every capability. User-id changes adjust the capability sets as
//! capabilities(7) "Effect of user ID changes on capabilities" says.

use super::Args;
use crate::errno::{Errno, Result};
use crate::kernel::task::Credentials;
use crate::kernel::Task;
use crate::mm::{UserMemory, UserMemoryExt};

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_MAC_OVERRIDE: u32 = 32;
pub const CAP_WAKE_ALARM: u32 = 35;
/// CAP_CHECKPOINT_RESTORE, the last capability of Linux 6.6.
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability.
pub const CAP_ALL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// The capabilities that follow the filesystem uid (CAP_FS_MASK).
const CAP_FS_MASK: u64 = cap(CAP_CHOWN)
    | cap(CAP_DAC_OVERRIDE)
    | cap(CAP_DAC_READ_SEARCH)
    | cap(CAP_FOWNER)
    | cap(CAP_FSETID)
    | cap(CAP_LINUX_IMMUTABLE)
    | cap(CAP_MKNOD)
    | cap(CAP_MAC_OVERRIDE);

/// An id argument of -1: leave this id alone.
const UNCHANGED: u32 = u32::MAX;
const NGROUPS_MAX: usize = 65536;

const CAP_VERSION_1: u32 = 0x1998_0330;
const CAP_VERSION_2: u32 = 0x2007_1026;
const CAP_VERSION_3: u32 = 0x2008_0522;

pub const fn cap(c: u32) -> u64 {
    1 << c
}

impl Credentials {
    /// The credentials of a sandbox's first process: all ids `uid`/`gid`;
    /// every capability for root, none otherwise; a full bounding set.
    pub fn new(uid: u32, gid: u32) -> Credentials {
        let caps = if uid == 0 { CAP_ALL } else { 0 };
        Credentials {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid,
            egid: gid,
            sgid: gid,
            fsgid: gid,
            groups: Vec::new(),
            cap_effective: caps,
            cap_permitted: caps,
            cap_inheritable: 0,
            cap_bounding: CAP_ALL,
            keep_caps: false,
        }
    }

    /// Whether `c` is in the effective set.
    pub fn capable(&self, c: u32) -> bool {
        self.cap_effective & cap(c) != 0
    }

    /// capabilities(7): what a change of the real, effective or saved uid
    /// does to the capability sets.
    fn fix_caps_for_uids(&mut self, old: &Credentials) {
        let was_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
        let none_root = self.uid != 0 && self.euid != 0 && self.suid != 0;
        if was_root && none_root && !self.keep_caps {
            self.cap_permitted = 0;
            self.cap_effective = 0;
        }
        if old.euid == 0 && self.euid != 0 {
            self.cap_effective = 0;
        }
        if old.euid != 0 && self.euid == 0 {
            self.cap_effective = self.cap_permitted;
        }
    }

    /// capabilities(7): a filesystem uid change to or from 0 drops or
    /// raises the filesystem capabilities.
    fn fix_caps_for_fsuid(&mut self, old: &Credentials) {
        if old.fsuid == 0 && self.fsuid != 0 {
            self.cap_effective &= !CAP_FS_MASK;
        }
        if old.fsuid != 0 && self.fsuid == 0 {
            self.cap_effective |= self.cap_permitted & CAP_FS_MASK;
        }
    }

    /// setuid(2).
    pub fn set_uid(&self, uid: u32) -> Result<Credentials> {
        if uid == UNCHANGED {
            return Err(Errno::EINVAL);
        }
        let mut new = self.clone();
        if self.capable(CAP_SETUID) {
            new.uid = uid;
            new.suid = uid;
        } else if uid != self.uid && uid != self.suid {
            return Err(Errno::EPERM);
        }
        new.euid = uid;
        new.fsuid = uid;
        new.fix_caps_for_uids(self);
        Ok(new)
    }

    /// setreuid(2).
    pub fn set_reuid(&self, ruid: u32, euid: u32) -> Result<Credentials> {
        let privileged = self.capable(CAP_SETUID);
        let mut new = self.clone();
        if ruid != UNCHANGED {
            if ruid != self.uid && ruid != self.euid && !privileged {
                return Err(Errno::EPERM);
            }
            new.uid = ruid;
        }
        if euid != UNCHANGED {
            if euid != self.uid && euid != self.euid && euid != self.suid && !privileged {
                return Err(Errno::EPERM);
            }
            new.euid = euid;
        }
        // The saved id follows when the real id is set or the effective
        // one becomes something other than the (old) real id.
        if ruid != UNCHANGED || (euid != UNCHANGED && euid != self.uid) {
            new.suid = new.euid;
        }
        new.fsuid = new.euid;
        new.fix_caps_for_uids(self);
        Ok(new)
    }

    /// setresuid(2).
    pub fn set_resuid(&self, ruid: u32, euid: u32, suid: u32) -> Result<Credentials> {
        let ok = |id: u32| id == UNCHANGED || id == self.uid || id == self.euid || id == self.suid;
        let allowed = ok(ruid) && ok(euid) && ok(suid);
        if !allowed && !self.capable(CAP_SETUID) {
            return Err(Errno::EPERM);
        }
        let mut new = self.clone();
        for (slot, id) in [(&mut new.uid, ruid), (&mut new.euid, euid), (&mut new.suid, suid)] {
            if id != UNCHANGED {
                *slot = id;
            }
        }
        new.fsuid = new.euid;
        new.fix_caps_for_uids(self);
        Ok(new)
    }

    /// setfsuid(2): the new credentials, or None when nothing changes
    /// (including when the caller may not make the change).
    pub fn set_fsuid(&self, fsuid: u32) -> Option<Credentials> {
        let allowed = [self.uid, self.euid, self.suid, self.fsuid].contains(&fsuid) || self.capable(CAP_SETUID);
        if fsuid == UNCHANGED || !allowed || fsuid == self.fsuid {
            return None;
        }
        let mut new = self.clone();
        new.fsuid = fsuid;
        new.fix_caps_for_fsuid(self);
        Some(new)
    }

    /// setgid(2).
    pub fn set_gid(&self, gid: u32) -> Result<Credentials> {
        if gid == UNCHANGED {
            return Err(Errno::EINVAL);
        }
        let mut new = self.clone();
        if self.capable(CAP_SETGID) {
            new.gid = gid;
            new.sgid = gid;
        } else if gid != self.gid && gid != self.sgid {
            return Err(Errno::EPERM);
        }
        new.egid = gid;
        new.fsgid = gid;
        Ok(new)
    }

    /// setregid(2).
    pub fn set_regid(&self, rgid: u32, egid: u32) -> Result<Credentials> {
        let privileged = self.capable(CAP_SETGID);
        let mut new = self.clone();
        if rgid != UNCHANGED {
            if rgid != self.gid && rgid != self.egid && !privileged {
                return Err(Errno::EPERM);
            }
            new.gid = rgid;
        }
        if egid != UNCHANGED {
            if egid != self.gid && egid != self.egid && egid != self.sgid && !privileged {
                return Err(Errno::EPERM);
            }
            new.egid = egid;
        }
        if rgid != UNCHANGED || (egid != UNCHANGED && egid != self.gid) {
            new.sgid = new.egid;
        }
        new.fsgid = new.egid;
        Ok(new)
    }

    /// setresgid(2).
    pub fn set_resgid(&self, rgid: u32, egid: u32, sgid: u32) -> Result<Credentials> {
        let ok = |id: u32| id == UNCHANGED || id == self.gid || id == self.egid || id == self.sgid;
        let allowed = ok(rgid) && ok(egid) && ok(sgid);
        if !allowed && !self.capable(CAP_SETGID) {
            return Err(Errno::EPERM);
        }
        let mut new = self.clone();
        for (slot, id) in [(&mut new.gid, rgid), (&mut new.egid, egid), (&mut new.sgid, sgid)] {
            if id != UNCHANGED {
                *slot = id;
            }
        }
        new.fsgid = new.egid;
        Ok(new)
    }

    /// setfsgid(2), as [`set_fsuid`](Self::set_fsuid).
    pub fn set_fsgid(&self, fsgid: u32) -> Option<Credentials> {
        let allowed = [self.gid, self.egid, self.sgid, self.fsgid].contains(&fsgid) || self.capable(CAP_SETGID);
        if fsgid == UNCHANGED || !allowed || fsgid == self.fsgid {
            return None;
        }
        let mut new = self.clone();
        new.fsgid = fsgid;
        Some(new)
    }

    /// setgroups(2): the list is kept sorted, as Linux keeps it.
    pub fn set_groups(&self, mut groups: Vec<u32>) -> Result<Credentials> {
        if !self.capable(CAP_SETGID) {
            return Err(Errno::EPERM);
        }
        if groups.len() > NGROUPS_MAX {
            return Err(Errno::EINVAL);
        }
        groups.sort_unstable();
        let mut new = self.clone();
        new.groups = groups;
        Ok(new)
    }

    /// capset(2) on the caller: the new sets may only shrink, except that
    /// CAP_SETPCAP lets the inheritable set take from the bounding set.
    /// Bits past the last capability are dropped.
    pub fn set_caps(&self, effective: u64, permitted: u64, inheritable: u64) -> Result<Credentials> {
        let (e, p, i) = (effective & CAP_ALL, permitted & CAP_ALL, inheritable & CAP_ALL);
        if !self.capable(CAP_SETPCAP) && i & !(self.cap_inheritable | self.cap_permitted) != 0 {
            return Err(Errno::EPERM);
        }
        if i & !(self.cap_inheritable | self.cap_bounding) != 0 {
            return Err(Errno::EPERM);
        }
        if p & !self.cap_permitted != 0 || e & !p != 0 {
            return Err(Errno::EPERM);
        }
        let mut new = self.clone();
        new.cap_effective = e;
        new.cap_permitted = p;
        new.cap_inheritable = i;
        Ok(new)
    }

    /// What execve(2) of a file without capabilities or set-id bits does:
    /// root (real or effective uid 0) gets its inheritable and bounding
    /// sets as permitted, effective too when the effective uid is 0;
    /// others end with no capabilities. Saved and filesystem ids become the
    /// effective ones; PR_SET_KEEPCAPS is cleared.
    pub fn exec(&mut self) {
        if self.uid == 0 || self.euid == 0 {
            self.cap_permitted = self.cap_inheritable | self.cap_bounding;
            self.cap_effective = if self.euid == 0 { self.cap_permitted } else { 0 };
        } else {
            self.cap_permitted = 0;
            self.cap_effective = 0;
        }
        self.suid = self.euid;
        self.fsuid = self.euid;
        self.sgid = self.egid;
        self.fsgid = self.egid;
        self.keep_caps = false;
    }

    /// Whether moving from `self` to `new` makes the process non-dumpable
    /// and clears its parent-death signal (commit_creds in Linux).
    pub fn drops_dumpability(&self, new: &Credentials) -> bool {
        self.euid != new.euid
            || self.egid != new.egid
            || self.fsuid != new.fsuid
            || self.fsgid != new.fsgid
            || new.cap_permitted & !self.cap_permitted != 0
    }
}

/// Installs `new` as the task's credentials, with the side effects of a
/// change: dumpability and the parent-death signal (prctl(2)), the
/// process table's real uid, /proc.
fn commit(task: &mut Task, new: Credentials) {
    if task.creds.drops_dumpability(&new) {
        // fs.suid_dumpable is 0.
        task.kernel.proc_attrs.update(task.tgid, |a| a.dumpable = 0);
        task.kernel.proc_attrs.set_pdeathsig(task.tid, task.tgid, task.ppid, 0);
    }
    if task.creds.uid != new.uid {
        task.kernel.processes.set_uid(task.tgid, new.uid);
    }
    task.creds = new;
    // /proc shows every id, the groups and the capability sets.
    task.publish();
}

fn apply(task: &mut Task, new: Result<Credentials>) -> Result<u64> {
    commit(task, new?);
    Ok(0)
}

pub fn setuid(task: &mut Task, a: Args) -> Result<u64> {
    let new = task.creds.set_uid(a.u32(0));
    apply(task, new)
}

pub fn setgid(task: &mut Task, a: Args) -> Result<u64> {
    let new = task.creds.set_gid(a.u32(0));
    apply(task, new)
}

pub fn setreuid(task: &mut Task, a: Args) -> Result<u64> {
    let new = task.creds.set_reuid(a.u32(0), a.u32(1));
    apply(task, new)
}

pub fn setregid(task: &mut Task, a: Args) -> Result<u64> {
    let new = task.creds.set_regid(a.u32(0), a.u32(1));
    apply(task, new)
}

pub fn setresuid(task: &mut Task, a: Args) -> Result<u64> {
    let new = task.creds.set_resuid(a.u32(0), a.u32(1), a.u32(2));
    apply(task, new)
}

pub fn setresgid(task: &mut Task, a: Args) -> Result<u64> {
    let new = task.creds.set_resgid(a.u32(0), a.u32(1), a.u32(2));
    apply(task, new)
}

/// Writes three ids, stopping at the first bad pointer (as Linux does).
fn put_ids(task: &Task, a: Args, ids: [u32; 3]) -> Result<u64> {
    for (i, id) in ids.iter().enumerate() {
        task.mm.write_val(a.u64(i), id)?;
    }
    Ok(0)
}

pub fn getresuid(task: &mut Task, a: Args) -> Result<u64> {
    let c = &task.creds;
    put_ids(task, a, [c.uid, c.euid, c.suid])
}

pub fn getresgid(task: &mut Task, a: Args) -> Result<u64> {
    let c = &task.creds;
    put_ids(task, a, [c.gid, c.egid, c.sgid])
}

/// setfsuid(2) always returns the previous filesystem uid.
pub fn setfsuid(task: &mut Task, a: Args) -> Result<u64> {
    let old = task.creds.fsuid;
    if let Some(new) = task.creds.set_fsuid(a.u32(0)) {
        commit(task, new);
    }
    Ok(old as u64)
}

pub fn setfsgid(task: &mut Task, a: Args) -> Result<u64> {
    let old = task.creds.fsgid;
    if let Some(new) = task.creds.set_fsgid(a.u32(0)) {
        commit(task, new);
    }
    Ok(old as u64)
}

pub fn getgroups(task: &mut Task, a: Args) -> Result<u64> {
    let size = a.i32(0);
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = &task.creds.groups;
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if groups.len() > size as usize {
        return Err(Errno::EINVAL);
    }
    // Nothing to copy: the buffer is not touched.
    if groups.is_empty() {
        return Ok(0);
    }
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
    task.mm.write(a.u64(1), &bytes)?;
    Ok(groups.len() as u64)
}

pub fn setgroups(task: &mut Task, a: Args) -> Result<u64> {
    if !task.creds.capable(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    // A negative size is a huge unsigned one.
    let size = a.u32(0) as usize;
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let bytes = task.mm.read_vec(a.u64(1), size * 4)?;
    let groups: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // (gid_t)-1 is no group (setgroups(2) EINVAL).
    if groups.contains(&u32::MAX) {
        return Err(Errno::EINVAL);
    }
    let new = task.creds.set_groups(groups);
    apply(task, new)
}

/// Checks the capget/capset header's version; returns how many
/// __user_cap_data_struct follow. An unknown version is answered with
/// the preferred one, written back, and EINVAL.
fn cap_version(task: &Task, header: u64) -> Result<usize> {
    let version: u32 = task.mm.read_val(header)?;
    match version {
        CAP_VERSION_1 => Ok(1),
        CAP_VERSION_2 | CAP_VERSION_3 => Ok(2),
        _ => {
            task.mm.write_val(header, &CAP_VERSION_3)?;
            Err(Errno::EINVAL)
        }
    }
}

pub fn capget(task: &mut Task, a: Args) -> Result<u64> {
    let (header, data) = (a.u64(0), a.u64(1));
    let count = match cap_version(task, header) {
        Ok(n) => n,
        // Probing the version with a NULL data pointer succeeds.
        Err(e) => return if data == 0 && e == Errno::EINVAL { Ok(0) } else { Err(e) },
    };
    if data == 0 {
        return Ok(0);
    }
    let pid: i32 = task.mm.read_val(header + 4)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let (e, p, i) = if pid == 0 || pid == task.tid || pid == task.tgid {
        (
            task.creds.cap_effective,
            task.creds.cap_permitted,
            task.creds.cap_inheritable,
        )
    } else {
        // Another process: the credentials it last published.
        let c = task.kernel.procs.creds_of(pid).ok_or(Errno::ESRCH)?;
        (c.cap_effective, c.cap_permitted, c.cap_inheritable)
    };
    let mut out = Vec::with_capacity(12 * count);
    for half in 0..count {
        for set in [e, p, i] {
            out.extend_from_slice(&((set >> (32 * half)) as u32).to_le_bytes());
        }
    }
    task.mm.write(data, &out)?;
    Ok(0)
}

pub fn capset(task: &mut Task, a: Args) -> Result<u64> {
    let (header, data) = (a.u64(0), a.u64(1));
    let count = cap_version(task, header)?;
    let pid: i32 = task.mm.read_val(header + 4)?;
    if pid != 0 && pid != task.tid {
        return Err(Errno::EPERM);
    }
    let raw = task.mm.read_vec(data, 12 * count)?;
    let word = |i: usize| u32::from_le_bytes([raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]]) as u64;
    let (mut e, mut p, mut i) = (0u64, 0u64, 0u64);
    for half in 0..count {
        let shift = 32 * half;
        e |= word(3 * half) << shift;
        p |= word(3 * half + 1) << shift;
        i |= word(3 * half + 2) << shift;
    }
    let new = task.creds.set_caps(e, p, i);
    apply(task, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u32 = UNCHANGED;

    fn ids(c: &Credentials) -> [u32; 4] {
        [c.uid, c.euid, c.suid, c.fsuid]
    }

    fn gids(c: &Credentials) -> [u32; 4] {
        [c.gid, c.egid, c.sgid, c.fsgid]
    }

    fn user(uid: u32) -> Credentials {
        Credentials::new(uid, uid)
    }

    #[test]
    fn new_credentials() {
        let root = Credentials::new(0, 0);
        assert_eq!(
            (root.cap_effective, root.cap_permitted, root.cap_bounding),
            (CAP_ALL, CAP_ALL, CAP_ALL)
        );
        let u = user(1000);
        assert_eq!((u.cap_effective, u.cap_permitted, u.cap_bounding), (0, 0, CAP_ALL));
        assert_eq!(ids(&u), [1000; 4]);
    }

    #[test]
    fn setuid_as_root_changes_every_id_and_drops_capabilities() {
        let root = Credentials::new(0, 0);
        let c = root.set_uid(1000).unwrap();
        assert_eq!(ids(&c), [1000; 4]);
        assert_eq!((c.cap_effective, c.cap_permitted), (0, 0));
        // No way back.
        assert_eq!(c.set_uid(0).unwrap_err(), Errno::EPERM);
        assert_eq!(root.set_uid(M).unwrap_err(), Errno::EINVAL);
    }

    #[test]
    fn setuid_unprivileged_may_pick_real_or_saved() {
        let mut c = user(1000);
        c.euid = 2000;
        c.suid = 3000;
        assert_eq!(ids(&c.set_uid(3000).unwrap()), [1000, 3000, 3000, 3000]);
        assert_eq!(ids(&c.set_uid(1000).unwrap()), [1000, 1000, 3000, 1000]);
        assert_eq!(c.set_uid(2000).unwrap_err(), Errno::EPERM);
    }

    #[test]
    fn seteuid_away_from_root_and_back() {
        let root = Credentials::new(0, 0);
        // seteuid(1000) is setresuid(-1, 1000, -1).
        let c = root.set_resuid(M, 1000, M).unwrap();
        assert_eq!(ids(&c), [0, 1000, 0, 1000]);
        assert_eq!(c.cap_effective, 0, "effective set cleared");
        assert_eq!(c.cap_permitted, CAP_ALL, "permitted kept: a root id remains");
        // Not capable now, but 0 is the real and saved uid.
        let back = c.set_resuid(M, 0, M).unwrap();
        assert_eq!(ids(&back), [0; 4]);
        assert_eq!(back.cap_effective, CAP_ALL, "effective set restored from permitted");
        // Unprivileged: only the current ids.
        assert_eq!(c.set_resuid(M, 5, M).unwrap_err(), Errno::EPERM);
    }

    #[test]
    fn setresuid_rules() {
        let mut c = user(1);
        c.euid = 2;
        c.suid = 3;
        assert_eq!(ids(&c.set_resuid(3, 1, 2).unwrap()), [3, 1, 2, 1]);
        assert_eq!(ids(&c.set_resuid(M, M, M).unwrap()), [1, 2, 3, 2]);
        assert_eq!(c.set_resuid(4, M, M).unwrap_err(), Errno::EPERM);
        let root = Credentials::new(0, 0);
        let all = root.set_resuid(7, 8, 9).unwrap();
        assert_eq!(ids(&all), [7, 8, 9, 8]);
        assert_eq!((all.cap_effective, all.cap_permitted), (0, 0));
        let mut keep = root.clone();
        keep.keep_caps = true;
        let kept = keep.set_resuid(7, 8, 9).unwrap();
        assert_eq!(
            (kept.cap_effective, kept.cap_permitted),
            (0, CAP_ALL),
            "PR_SET_KEEPCAPS"
        );
    }

    #[test]
    fn setreuid_rules() {
        let mut c = user(1);
        c.euid = 2;
        c.suid = 3;
        // Swapping real and effective: the saved id follows the new euid.
        assert_eq!(ids(&c.set_reuid(2, 1).unwrap()), [2, 1, 1, 1]);
        // Only the euid, to the saved id (not the real one): saved follows.
        assert_eq!(ids(&c.set_reuid(M, 3).unwrap()), [1, 3, 3, 3]);
        // Only the euid, to the real id: saved kept.
        assert_eq!(ids(&c.set_reuid(M, 1).unwrap()), [1, 1, 3, 1]);
        // The real id may not become the saved one.
        assert_eq!(c.set_reuid(3, M).unwrap_err(), Errno::EPERM);
        assert_eq!(c.set_reuid(M, 9).unwrap_err(), Errno::EPERM);
        assert_eq!(ids(&c.set_reuid(M, M).unwrap()), [1, 2, 3, 2]);
    }

    #[test]
    fn gid_rules() {
        let root = Credentials::new(0, 0);
        assert_eq!(gids(&root.set_gid(5).unwrap()), [5; 4]);
        assert_eq!(gids(&root.set_resgid(1, 2, 3).unwrap()), [1, 2, 3, 2]);
        assert_eq!(root.set_gid(M).unwrap_err(), Errno::EINVAL);
        let mut c = user(10);
        c.egid = 20;
        c.sgid = 30;
        assert_eq!(gids(&c.set_gid(30).unwrap()), [10, 30, 30, 30]);
        assert_eq!(c.set_gid(20).unwrap_err(), Errno::EPERM);
        assert_eq!(gids(&c.set_regid(20, M).unwrap()), [20, 20, 20, 20]);
        assert_eq!(c.set_regid(30, M).unwrap_err(), Errno::EPERM);
        assert_eq!(gids(&c.set_regid(M, 30).unwrap()), [10, 30, 30, 30]);
        assert_eq!(c.set_resgid(M, 40, M).unwrap_err(), Errno::EPERM);
        // gid changes leave capabilities alone.
        assert_eq!(root.set_resgid(1, 2, 3).unwrap().cap_effective, CAP_ALL);
    }

    #[test]
    fn fsuid_rules() {
        let root = Credentials::new(0, 0);
        let c = root.set_fsuid(1000).unwrap();
        assert_eq!(ids(&c), [0, 0, 0, 1000]);
        assert_eq!(c.cap_effective, CAP_ALL & !CAP_FS_MASK);
        assert!(!c.capable(CAP_CHOWN) && c.capable(CAP_SETUID));
        let back = c.set_fsuid(0).unwrap();
        assert_eq!(back.cap_effective, CAP_ALL);
        assert!(root.set_fsuid(M).is_none());
        assert!(root.set_fsuid(0).is_none(), "no change");
        let u = user(5);
        assert!(u.set_fsuid(6).is_none(), "not one of the caller's ids");
        let mut u2 = u.clone();
        u2.suid = 6;
        assert_eq!(u2.set_fsuid(6).unwrap().fsuid, 6);
        assert!(u2.set_fsgid(5).is_none());
        assert!(u.set_fsgid(7).is_none());
        assert_eq!(root.set_fsgid(7).unwrap().fsgid, 7);
    }

    #[test]
    fn groups_need_cap_setgid_and_are_sorted() {
        let root = Credentials::new(0, 0);
        assert_eq!(
            root.set_groups(vec![30, 10, 20, 10]).unwrap().groups,
            vec![10, 10, 20, 30]
        );
        assert_eq!(user(1).set_groups(vec![]).unwrap_err(), Errno::EPERM);
        assert_eq!(root.set_groups(vec![0; NGROUPS_MAX + 1]).unwrap_err(), Errno::EINVAL);
    }

    #[test]
    fn capset_only_drops() {
        let root = Credentials::new(0, 0);
        let less = root
            .set_caps(cap(CAP_SETUID), cap(CAP_SETUID) | cap(CAP_SETGID), 0)
            .unwrap();
        assert_eq!(
            (less.cap_effective, less.cap_permitted),
            (cap(CAP_SETUID), cap(CAP_SETUID) | cap(CAP_SETGID))
        );
        // Effective must be within permitted; permitted may not grow.
        assert_eq!(
            less.set_caps(cap(CAP_SETGID), cap(CAP_SETUID), 0).unwrap_err(),
            Errno::EPERM
        );
        assert_eq!(less.set_caps(0, cap(CAP_CHOWN), 0).unwrap_err(), Errno::EPERM);
        // Raising a permitted capability back into effective is fine.
        assert!(less.set_caps(cap(CAP_SETGID), cap(CAP_SETGID), 0).is_ok());
        // Without CAP_SETPCAP the inheritable set stays within permitted.
        assert_eq!(less.set_caps(0, 0, cap(CAP_CHOWN)).unwrap_err(), Errno::EPERM);
        assert!(less.set_caps(0, cap(CAP_SETGID), cap(CAP_SETGID)).is_ok());
        // With it, anything in the bounding set.
        let mut pcap = less.clone();
        pcap.cap_effective |= cap(CAP_SETPCAP);
        pcap.cap_permitted |= cap(CAP_SETPCAP);
        assert!(pcap.set_caps(0, 0, cap(CAP_CHOWN)).is_ok());
        pcap.cap_bounding &= !cap(CAP_CHOWN);
        assert_eq!(pcap.set_caps(0, 0, cap(CAP_CHOWN)).unwrap_err(), Errno::EPERM);
        // Unknown bits are ignored.
        assert_eq!(root.set_caps(u64::MAX, u64::MAX, 0).unwrap().cap_permitted, CAP_ALL);
    }

    #[test]
    fn exec_recomputes_capabilities() {
        let mut root = Credentials::new(0, 0);
        root.cap_effective = 0;
        root.cap_permitted = cap(CAP_CHOWN);
        root.keep_caps = true;
        root.exec();
        assert_eq!((root.cap_effective, root.cap_permitted), (CAP_ALL, CAP_ALL));
        assert!(!root.keep_caps);
        let mut setuid_root = Credentials::new(0, 0).set_resuid(0, 1000, M).unwrap();
        setuid_root.exec();
        assert_eq!((setuid_root.cap_effective, setuid_root.cap_permitted), (0, CAP_ALL));
        assert_eq!(ids(&setuid_root), [0, 1000, 1000, 1000]);
        let mut kept = Credentials::new(0, 0);
        kept.keep_caps = true;
        let mut kept = kept.set_uid(1000).unwrap();
        assert_eq!(kept.cap_permitted, CAP_ALL);
        kept.exec();
        assert_eq!((kept.cap_effective, kept.cap_permitted), (0, 0));
    }

    #[test]
    fn dumpability() {
        let root = Credentials::new(0, 0);
        assert!(!root.drops_dumpability(&root.clone()));
        assert!(root.drops_dumpability(&root.set_resuid(M, 5, M).unwrap()));
        assert!(root.drops_dumpability(&root.set_fsgid(5).unwrap()));
        assert!(
            !root.drops_dumpability(&root.set_resgid(5, M, M).unwrap()),
            "real gid only"
        );
        assert!(
            !root.drops_dumpability(&root.set_caps(0, 0, 0).unwrap()),
            "dropping capabilities"
        );
    }
}
