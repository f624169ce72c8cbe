//! The wire protocol between the Sentry and the gofer process: one request
//! in flight per connection, each a length-prefixed frame; an opened file
//! comes back as a host fd attached to the reply (SCM_RIGHTS).
//!
//! Frame: u32 length (of what follows), u8 code, payload; integers are
//! little-endian. A reply's code is 0 for success, else an errno. Every
//! request gets a reply except CLUNK, which is one-way.

use crate::{DirEntry, Errno, Fid, Result, SetAttr, Stat};

pub const WALK: u8 = 1;
pub const STAT: u8 = 2;
pub const OPEN: u8 = 3;
pub const READDIR: u8 = 4;
pub const READLINK: u8 = 5;
/// One-way: the server sends no reply.
pub const CLUNK: u8 = 6;
pub const READ_ONLY: u8 = 7;
pub const CREATE: u8 = 8;
pub const MKDIR: u8 = 9;
pub const SYMLINK: u8 = 10;
pub const UNLINK: u8 = 11;
pub const RENAME: u8 = 12;
pub const SETATTR: u8 = 13;
pub const MKNOD: u8 = 14;
pub const LINK: u8 = 15;
pub const EXCHANGE: u8 = 16;

/// Largest frame either side accepts (a big directory listing fits).
pub const MAX_FRAME: usize = 16 << 20;

/// Appends little-endian fields to a frame payload.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
        self
    }
    pub fn stat(&mut self, s: &Stat) -> &mut Self {
        for v in [
            s.dev,
            s.ino,
            s.mode as u64,
            s.nlink,
            s.uid as u64,
            s.gid as u64,
            s.rdev,
            s.size,
            s.blksize,
            s.blocks,
            s.atime.0 as u64,
            s.atime.1 as u64,
            s.mtime.0 as u64,
            s.mtime.1 as u64,
            s.ctime.0 as u64,
            s.ctime.1 as u64,
        ] {
            self.u64(v);
        }
        self
    }
}

/// Reads fields back; any short read is EPROTO, never a panic.
pub struct Reader<'a>(pub &'a [u8]);

const EPROTO: Errno = Errno(libc::EPROTO);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.0.len() < n {
            return Err(EPROTO);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    pub fn fid(&mut self) -> Result<Fid> {
        Ok(Fid(self.u64()?))
    }
    pub fn stat(&mut self) -> Result<Stat> {
        let mut v = [0u64; 16];
        for slot in v.iter_mut() {
            *slot = self.u64()?;
        }
        Ok(Stat {
            dev: v[0],
            ino: v[1],
            mode: v[2] as u32,
            nlink: v[3],
            uid: v[4] as u32,
            gid: v[5] as u32,
            rdev: v[6],
            size: v[7],
            blksize: v[8],
            blocks: v[9],
            atime: (v[10] as i64, v[11] as i64),
            mtime: (v[12] as i64, v[13] as i64),
            ctime: (v[14] as i64, v[15] as i64),
        })
    }
    pub fn dirents(&mut self) -> Result<Vec<DirEntry>> {
        let n = self.u32()? as usize;
        let mut out = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let ino = self.u64()?;
            let kind = self.u8()?;
            let name = self.bytes()?;
            out.push(DirEntry { name, ino, kind });
        }
        Ok(out)
    }
}

/// SetAttr: a presence bitmask, then the present fields in order.
pub fn write_setattr(w: &mut Writer, a: &SetAttr) {
    let bits = [
        a.mode.is_some(),
        a.uid.is_some(),
        a.gid.is_some(),
        a.size.is_some(),
        a.atime.is_some(),
        a.mtime.is_some(),
    ]
    .iter()
    .enumerate()
    .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
    w.u8(bits);
    if let Some(v) = a.mode {
        w.u32(v);
    }
    if let Some(v) = a.uid {
        w.u32(v);
    }
    if let Some(v) = a.gid {
        w.u32(v);
    }
    if let Some(v) = a.size {
        w.u64(v);
    }
    for t in [a.atime, a.mtime].into_iter().flatten() {
        w.u64(t.0 as u64).u64(t.1 as u64);
    }
}

impl Reader<'_> {
    pub fn setattr(&mut self) -> Result<SetAttr> {
        let bits = self.u8()?;
        let has = |i: u8| bits & (1 << i) != 0;
        let mut a = SetAttr::default();
        if has(0) {
            a.mode = Some(self.u32()?);
        }
        if has(1) {
            a.uid = Some(self.u32()?);
        }
        if has(2) {
            a.gid = Some(self.u32()?);
        }
        if has(3) {
            a.size = Some(self.u64()?);
        }
        if has(4) {
            a.atime = Some((self.u64()? as i64, self.u64()? as i64));
        }
        if has(5) {
            a.mtime = Some((self.u64()? as i64, self.u64()? as i64));
        }
        Ok(a)
    }
}

pub fn write_dirents(w: &mut Writer, entries: &[DirEntry]) {
    w.u32(entries.len() as u32);
    for e in entries {
        w.u64(e.ino).u8(e.kind).bytes(&e.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_short_input_is_eproto() {
        let stat = Stat {
            dev: 1,
            ino: 2,
            mode: 0o100644,
            size: 9,
            mtime: (5, 6),
            ..Stat::default()
        };
        let mut w = Writer::default();
        w.u8(3).u64(7).bytes(b"name").stat(&stat);
        write_dirents(
            &mut w,
            &[DirEntry {
                name: b"a".to_vec(),
                ino: 4,
                kind: 8,
            }],
        );
        let mut r = Reader(&w.0);
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.fid(), Ok(Fid(7)));
        assert_eq!(r.bytes(), Ok(b"name".to_vec()));
        assert_eq!(r.stat(), Ok(stat));
        assert_eq!(
            r.dirents(),
            Ok(vec![DirEntry {
                name: b"a".to_vec(),
                ino: 4,
                kind: 8
            }])
        );
        assert_eq!(Reader(&[1, 0]).u32(), Err(EPROTO));
        // A length that claims more than is there.
        assert_eq!(Reader(&[0xff, 0xff, 0xff, 0x7f]).bytes(), Err(EPROTO));
    }
}
