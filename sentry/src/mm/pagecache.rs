//! The shared page cache: the memory-file pages behind `MAP_SHARED` file
//! mappings.
//!
//! The platform can only map ranges of the memory file into a guest, so
//! every `MAP_SHARED` mapping of one file, in every address space, maps the
//! same memory-file pages: the file's cache. Its extents are filled from
//! the file when a range is first mapped (zeros past EOF) and written back
//! by msync(2), by munmap of the last mapping (the cache is dropped with
//! its last VMA), and before read(2), fsync(2) and truncation reach the
//! file; write(2) updates the cached bytes it overwrote. That keeps
//! read/write and the mappings coherent, as Linux's unified page cache does
//! (mmap(2) "MAP_SHARED").
//!
//! The guest writes cached pages directly, so the cache cannot know which
//! pages are dirty: once a writable mapping was made, write-back writes
//! every cached page that lies inside the file.

use super::{Chunk, MemoryFile};
use crate::errno::{Errno, Result};
use crate::vfs::FileOps;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockWriteGuard, Weak};
use std::time::{Duration, Instant};

/// A file's identity: (st_dev, st_ino).
pub type CacheKey = (u64, u64);

/// Bytes moved per write-back copy.
const FLUSH_BUF: usize = 64 * 1024;
/// Longest wait for a dying cache of the same file to write back.
const DRAIN_WAIT: Duration = Duration::from_secs(5);

/// Live caches by file, for the read/write hooks. Several Sentries in one
/// process (tests) each have their own memory file, hence the Vec.
static REGISTRY: RwLock<Option<Registry>> = RwLock::new(None);

type Registry = HashMap<CacheKey, Vec<Weak<PageCache>>>;
/// Number of live caches: the read/write hooks do nothing while it is 0.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Bumped by every truncation: address spaces then look at the sizes of
/// their mapped files again before they next run the guest.
static TRUNCATIONS: AtomicU64 = AtomicU64::new(0);

/// The part of an extent one mapping shows.
pub struct Piece {
    pub chunk: Arc<Chunk>,
    pub chunk_off: u64,
    pub len: u64,
}

pub struct PageCache {
    memfile: Arc<MemoryFile>,
    key: CacheKey,
    /// Fills extents and reports the file size: the open file of the
    /// latest mapping (an overlay file copied up since the first mapping
    /// is read from its upper copy).
    reader: Mutex<Arc<dyn FileOps>>,
    /// Set by the first writable mapping; write-back goes through it.
    writer: Mutex<Option<Arc<dyn FileOps>>>,
    /// Extents by the file offset of their first byte (page aligned).
    extents: Mutex<BTreeMap<u64, Arc<Chunk>>>,
    /// A writable mapping was made: write-back is needed.
    dirty: AtomicBool,
}

/// The registry for a change.
fn registry() -> Result<RwLockWriteGuard<'static, Option<Registry>>> {
    REGISTRY.write().map_err(|_| Errno::EIO)
}

/// True while any cache lives (the hooks' fast path).
pub fn any_live() -> bool {
    LIVE.load(Ordering::Acquire) > 0
}

/// The live caches of file `key` (normally at most one).
fn caches_of(key: CacheKey) -> Vec<Arc<PageCache>> {
    if !any_live() {
        return Vec::new();
    }
    let Ok(reg) = REGISTRY.read() else { return Vec::new() };
    let found: Vec<Arc<PageCache>> = reg
        .as_ref()
        .and_then(|m| m.get(&key))
        .map(|v| v.iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    drop(reg);
    found
}

/// Before fsync(2) or truncation of file `key`: write mapped changes
/// back.
pub fn flush_file(key: CacheKey) -> Result<()> {
    flush_file_range(key, 0, u64::MAX)
}

/// Before file range `[offset, offset+len)` of file `key` is read (read(2),
/// a new private copy): write mapped changes there back.
pub fn flush_file_range(key: CacheKey, offset: u64, len: u64) -> Result<()> {
    for cache in caches_of(key) {
        cache.flush_range(offset, offset.saturating_add(len))?;
    }
    Ok(())
}

/// After write(2) put `buf` at `offset` of file `key`: update the cached
/// copies of those bytes.
pub fn file_written(key: CacheKey, buf: &[u8], offset: u64) {
    for cache in caches_of(key) {
        cache.update(buf, offset);
    }
}

/// After file `key` was truncated to `size`: cached bytes past the new
/// EOF read as zero, and every address space marks its mappings of pages
/// past EOF before it next runs the guest (truncate(2): they raise SIGBUS).
pub fn file_truncated(key: CacheKey, size: u64) {
    // Every file mapping holds its file's cache: without one, nothing
    // maps the file.
    let caches = caches_of(key);
    if caches.is_empty() {
        return;
    }
    for cache in caches {
        cache.truncated(size);
    }
    TRUNCATIONS.fetch_add(1, Ordering::AcqRel);
}

/// sync(2): writes the shared mappings of every file back; the first
/// error is returned after all were tried.
pub fn flush_all() -> Result<()> {
    if !any_live() {
        return Ok(());
    }
    let caches: Vec<Arc<PageCache>> = {
        let reg = REGISTRY.read().map_err(|_| Errno::EIO)?;
        reg.as_ref()
            .map(|m| m.values().flatten().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    };
    let mut result = Ok(());
    for cache in caches {
        if let Err(e) = cache.flush() {
            result = result.and(Err(e));
        }
    }
    result
}

/// True while a cache of file `key` has been written through a shared
/// writable mapping (memfd's F_SEAL_WRITE is EBUSY then).
pub fn has_shared_writer(key: CacheKey) -> bool {
    caches_of(key).iter().any(|cache| cache.has_writer())
}

/// Changes whenever some file was truncated.
pub fn truncation_epoch() -> u64 {
    TRUNCATIONS.load(Ordering::Acquire)
}

impl PageCache {
    /// The cache of file `key` in `memfile`, created on first use.
    ///
    /// A cache whose last mapping just went is still writing back (its
    /// entry stays until its drop is done): a new cache of the file waits
    /// for that, or it would fill from stale data and later write it back.
    pub fn get_or_create(memfile: &Arc<MemoryFile>, key: CacheKey, reader: Arc<dyn FileOps>) -> Result<Arc<PageCache>> {
        let deadline = Instant::now() + DRAIN_WAIT;
        loop {
            let mut reg = registry()?;
            let list = reg.get_or_insert_with(HashMap::new).entry(key).or_default();
            let draining = list.iter().any(|w| w.strong_count() == 0);
            // Dropped only after the registry lock: dropping a last
            // reference takes that lock.
            let live: Vec<Arc<PageCache>> = list.iter().filter_map(Weak::upgrade).collect();
            if let Some(cache) = live.iter().find(|c| Arc::ptr_eq(&c.memfile, memfile)).cloned() {
                drop(reg);
                *cache.reader.lock().map_err(|_| Errno::EIO)? = reader;
                return Ok(cache);
            }
            if draining && Instant::now() < deadline {
                drop(reg);
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            let cache = Arc::new(PageCache {
                memfile: memfile.clone(),
                key,
                reader: Mutex::new(reader),
                writer: Mutex::new(None),
                extents: Mutex::new(BTreeMap::new()),
                dirty: AtomicBool::new(false),
            });
            list.push(Arc::downgrade(&cache));
            LIVE.fetch_add(1, Ordering::AcqRel);
            drop(reg);
            return Ok(cache);
        }
    }

    pub fn key(&self) -> CacheKey {
        self.key
    }

    /// The file's current size.
    pub fn file_size(&self) -> Result<u64> {
        self.reader()?.size()
    }

    /// A writable mapping is being made through `writer`.
    pub fn set_writer(&self, writer: Arc<dyn FileOps>) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| Errno::EIO)?;
        if w.is_none() {
            *w = Some(writer);
        }
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    pub fn has_writer(&self) -> bool {
        self.writer.lock().map(|w| w.is_some()).unwrap_or(false)
    }

    fn reader(&self) -> Result<Arc<dyn FileOps>> {
        Ok(self.reader.lock().map_err(|_| Errno::EIO)?.clone())
    }

    fn extents(&self) -> Result<MutexGuard<'_, BTreeMap<u64, Arc<Chunk>>>> {
        self.extents.lock().map_err(|_| Errno::EIO)
    }

    /// The cached pages of file range `[offset, offset+len)` (both page
    /// aligned), in order; missing parts are read from the file first.
    pub fn pieces(&self, offset: u64, len: u64) -> Result<Vec<Piece>> {
        let end = offset.checked_add(len).ok_or(Errno::EOVERFLOW)?;
        let mut extents = self.extents()?;
        let mut out = Vec::new();
        let mut cur = offset;
        while cur < end {
            let covering = extents
                .range(..=cur)
                .next_back()
                .filter(|(&s, c)| s + c.len > cur)
                .map(|(&s, c)| (s, c.clone()));
            if let Some((start, chunk)) = covering {
                let piece_len = (start + chunk.len).min(end) - cur;
                out.push(Piece {
                    chunk,
                    chunk_off: cur - start,
                    len: piece_len,
                });
                cur += piece_len;
                continue;
            }
            // A hole up to the next extent (or the end): fill a new extent.
            let hole_end = extents.range(cur..end).next().map(|(&s, _)| s).unwrap_or(end);
            let chunk = Chunk::allocate(&self.memfile, hole_end - cur)?;
            self.fill(&chunk, cur)?;
            extents.insert(cur, chunk.clone());
            out.push(Piece {
                chunk,
                chunk_off: 0,
                len: hole_end - cur,
            });
            cur = hole_end;
        }
        Ok(out)
    }

    /// Reads the file from `offset` into a fresh chunk; past EOF stays zero.
    fn fill(&self, chunk: &Chunk, offset: u64) -> Result<()> {
        let reader = self.reader()?;
        self.memfile.with_slice(chunk.offset, chunk.len, |buf| {
            let mut done = 0;
            while done < buf.len() {
                let n = reader.read(&mut buf[done..], offset + done as u64)?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            Ok(())
        })?
    }

    /// Writes every cached page inside the file back to it (msync(2),
    /// fsync(2), on the last munmap).
    pub fn flush(&self) -> Result<()> {
        self.flush_range(0, u64::MAX)
    }

    /// Writes the cached bytes of file range `[from, to)` that lie inside
    /// the file back to it (before a read(2) of that range).
    pub(super) fn flush_range(&self, from: u64, to: u64) -> Result<()> {
        if !self.dirty.load(Ordering::Acquire) {
            return Ok(());
        }
        let Some(writer) = self.writer.lock().map_err(|_| Errno::EIO)?.clone() else {
            return Ok(());
        };
        let end_of_data = self.reader()?.size()?.min(to);
        let extents: Vec<(u64, Arc<Chunk>)> = self.extents()?.iter().map(|(&s, c)| (s, c.clone())).collect();
        let mut buf = vec![0u8; FLUSH_BUF];
        for (start, chunk) in extents {
            let end = (start + chunk.len).min(end_of_data);
            let mut cur = start.max(from);
            while cur < end {
                let n = ((end - cur) as usize).min(FLUSH_BUF);
                self.memfile.read(chunk.offset + (cur - start), &mut buf[..n])?;
                write_all(writer.as_ref(), &buf[..n], cur)?;
                cur += n as u64;
            }
        }
        Ok(())
    }

    /// Copies the bytes write(2) just put at `offset` into cached pages.
    fn update(&self, buf: &[u8], offset: u64) {
        let Some(end) = offset.checked_add(buf.len() as u64) else {
            return;
        };
        let Ok(extents) = self.extents() else { return };
        let first = extents.range(..=offset).next_back().map(|(&s, _)| s).unwrap_or(offset);
        for (&start, chunk) in extents.range(first..end) {
            let from = start.max(offset);
            let to = (start + chunk.len).min(end);
            if from < to {
                let src = &buf[(from - offset) as usize..(to - offset) as usize];
                let _ = self.memfile.write(chunk.offset + (from - start), src);
            }
        }
    }

    /// Zeroes cached bytes at and past `size` (pages past it are punched).
    fn truncated(&self, size: u64) {
        let Ok(extents) = self.extents() else { return };
        for (&start, chunk) in extents.iter() {
            let end = start + chunk.len;
            if end <= size {
                continue;
            }
            let from = start.max(size);
            let page_end = super::page_up(from).unwrap_or(end).min(end);
            if from < page_end {
                let zeros = vec![0u8; (page_end - from) as usize];
                let _ = self.memfile.write(chunk.offset + (from - start), &zeros);
            }
            if page_end < end {
                self.memfile.punch(chunk.offset + (page_end - start), end - page_end);
            }
        }
    }
}

fn write_all(writer: &dyn FileOps, mut buf: &[u8], mut offset: u64) -> Result<()> {
    while !buf.is_empty() {
        let n = writer.write(buf, offset)?;
        if n == 0 {
            return Err(Errno::EIO);
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

impl Drop for PageCache {
    /// The last mapping went: write the pages back (munmap(2) of a shared
    /// mapping, exit, exec).
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("writing back mapped file {:?}: {e:?}", self.key);
        }
        if let Ok(mut reg) = registry() {
            let me: *const PageCache = self;
            if let Some(list) = reg.as_mut().and_then(|m| m.get_mut(&self.key)) {
                // Only this cache's entry: others may still be writing back.
                list.retain(|w| !std::ptr::eq(w.as_ptr(), me));
                let empty = list.is_empty();
                if let (true, Some(map)) = (empty, reg.as_mut()) {
                    map.remove(&self.key);
                }
            }
        }
        LIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in memory.
    struct MemFile(Mutex<Vec<u8>>);

    impl FileOps for MemFile {
        fn read(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
            let data = self.0.lock().unwrap();
            let start = (offset as usize).min(data.len());
            let n = buf.len().min(data.len() - start);
            buf[..n].copy_from_slice(&data[start..start + n]);
            Ok(n)
        }
        fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
            let mut data = self.0.lock().unwrap();
            let end = offset as usize + buf.len();
            if data.len() < end {
                data.resize(end, 0);
            }
            data[offset as usize..end].copy_from_slice(buf);
            Ok(buf.len())
        }
        fn size(&self) -> Result<u64> {
            Ok(self.0.lock().unwrap().len() as u64)
        }
    }

    const PG: u64 = super::super::PAGE_SIZE;

    fn setup(len: usize) -> (Arc<MemoryFile>, Arc<MemFile>) {
        let data = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        (
            Arc::new(MemoryFile::new().unwrap()),
            Arc::new(MemFile(Mutex::new(data))),
        )
    }

    fn cached(memfile: &MemoryFile, piece: &Piece, at: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        memfile
            .read(piece.chunk.offset + piece.chunk_off + at, &mut buf)
            .unwrap();
        buf
    }

    #[test]
    fn pieces_are_filled_once_and_shared() {
        let (memfile, file) = setup(100);
        let cache = PageCache::get_or_create(&memfile, (901, 1), file.clone()).unwrap();
        let again = PageCache::get_or_create(&memfile, (901, 1), file.clone()).unwrap();
        assert!(Arc::ptr_eq(&cache, &again));
        let first = cache.pieces(0, PG).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(cached(&memfile, &first[0], 98, 4), b"uv\0\0");
        // A wider range reuses the cached page and fills only the rest.
        let wider = cache.pieces(0, 3 * PG).unwrap();
        assert_eq!(wider.len(), 2);
        assert!(Arc::ptr_eq(&wider[0].chunk, &first[0].chunk));
        assert_eq!((wider[1].chunk_off, wider[1].len), (0, 2 * PG));
        // Another memory file gets its own cache.
        let other = Arc::new(MemoryFile::new().unwrap());
        let separate = PageCache::get_or_create(&other, (901, 1), file).unwrap();
        assert!(!Arc::ptr_eq(&cache, &separate));
    }

    #[test]
    fn writes_update_cache_and_flush_writes_back_inside_the_file() {
        let (memfile, file) = setup(100);
        let cache = PageCache::get_or_create(&memfile, (902, 1), file.clone()).unwrap();
        let piece = cache.pieces(0, PG).unwrap().remove(0);
        file_written((902, 1), b"XY", 10);
        assert_eq!(cached(&memfile, &piece, 10, 2), b"XY");
        memfile.write(piece.chunk.offset + 20, b"mapped").unwrap();
        memfile.write(piece.chunk.offset + 200, b"past").unwrap();
        // No writable mapping yet: nothing is written back.
        flush_file((902, 1)).unwrap();
        assert_eq!(&file.0.lock().unwrap()[20..26], b"uvwxyz");
        cache.set_writer(file.clone()).unwrap();
        memfile.write(piece.chunk.offset + 90, b"later").unwrap();
        // A read of [0, 30) writes back only that range.
        flush_file_range((902, 1), 0, 30).unwrap();
        assert_eq!(&file.0.lock().unwrap()[20..26], b"mapped");
        assert_eq!(&file.0.lock().unwrap()[90..95], b"mnopq");
        flush_file((902, 1)).unwrap();
        let data = file.0.lock().unwrap().clone();
        assert_eq!(&data[90..95], b"later");
        assert_eq!(data.len(), 100);
    }

    #[test]
    fn truncation_zeroes_cached_bytes_past_eof() {
        let (memfile, file) = setup(2 * PG as usize);
        let cache = PageCache::get_or_create(&memfile, (903, 1), file.clone()).unwrap();
        let piece = cache.pieces(0, 2 * PG).unwrap().remove(0);
        file.0.lock().unwrap().truncate(10);
        let before = truncation_epoch();
        file_truncated((903, 1), 10);
        assert_ne!(truncation_epoch(), before);
        assert_eq!(cached(&memfile, &piece, 8, 4), b"ij\0\0");
        assert_eq!(cached(&memfile, &piece, PG + 1, 2), b"\0\0");
    }

    #[test]
    fn last_reference_writes_back_and_leaves_the_registry() {
        let (memfile, file) = setup(PG as usize);
        let cache = PageCache::get_or_create(&memfile, (904, 1), file.clone()).unwrap();
        cache.set_writer(file.clone()).unwrap();
        let piece = cache.pieces(0, PG).unwrap().remove(0);
        memfile.write(piece.chunk.offset, b"dropped").unwrap();
        drop(piece);
        drop(cache);
        assert_eq!(&file.0.lock().unwrap()[..7], b"dropped");
        assert!(caches_of((904, 1)).is_empty());
    }
}
