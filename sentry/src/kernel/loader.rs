//! execve's loader: ELF executables (static, static-pie, dynamic through
//! PT_INTERP) and `#!` scripts, and the initial stack (argc, argv, envp,
//! auxv) that the System V x86-64 ABI (section 3.4) prescribes.

use crate::errno::{Errno, Result};
use crate::mm::{page_down, page_up, Backing, MemoryManager, UserMemory, VmaName, PAGE_SIZE};
use crate::vfs::resolve::FsContext;
use crate::vfs::{Dentry, FileOps};
use platform::Context;
use std::sync::Arc;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const MAX_PHDRS: usize = 256;
/// Where Linux puts a position-independent main executable (ELF_ET_DYN_BASE).
const DYN_EXEC_BASE: u64 = 0x5555_5555_4000;
/// Shebang lines longer than this are cut (BINPRM_BUF_SIZE).
const MAX_SHEBANG: usize = 256;
const MAX_INTERP_DEPTH: usize = 4;
pub const STACK_SIZE: u64 = 8 << 20;

/// The result of loading: where to start and what /proc should show.
pub struct Loaded {
    pub entry: u64,
    pub stack_pointer: u64,
    pub exe: Arc<Dentry>,
    /// argv as finally used (after `#!` rewriting).
    pub argv: Vec<Vec<u8>>,
    /// The auxiliary vector as words, AT_NULL pair last (/proc/PID/auxv).
    pub auxv: Arc<[u64]>,
}

/// An opened executable.
struct Exe {
    dentry: Arc<Dentry>,
    file: Arc<dyn FileOps>,
}

impl Exe {
    fn open(fs: &FsContext, path: &[u8]) -> Result<Exe> {
        let dentry = fs.resolve(&fs.cwd, path, true)?;
        let stat = dentry.inode.stat()?;
        if stat.is_dir() {
            return Err(Errno::EACCES);
        }
        if !stat.is_regular() || stat.mode & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        // execve(2) EACCES: "the file ... resides on a noexec mount".
        if fs.mounts.mount_of(&dentry.path).is_some_and(|m| m.noexec) {
            return Err(Errno::EACCES);
        }
        let file = dentry.inode.open(libc::O_RDONLY)?;
        // What shared mappings wrote to the file is part of it.
        crate::mm::pagecache::flush_file((stat.dev, stat.ino))?;
        Ok(Exe { dentry, file })
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.file.read(&mut buf[done..], offset + done as u64)?;
            if n == 0 {
                return Err(Errno::ENOEXEC);
            }
            done += n;
        }
        Ok(())
    }

    /// Reads up to `buf.len()` bytes from the start; returns the count.
    fn read_head(&self, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.file.read(&mut buf[done..], done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
}

#[derive(Debug, Clone, Copy)]
struct ElfHeader {
    kind: u16,
    entry: u64,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
}

#[derive(Debug, Clone, Copy)]
struct ProgramHeader {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

fn parse_header(b: &[u8; 64]) -> Result<ElfHeader> {
    // e_ident: class 2 = 64-bit, data 1 = little endian, version 1.
    if &b[0..4] != ELF_MAGIC || b[4] != 2 || b[5] != 1 || b[6] != 1 {
        return Err(Errno::ENOEXEC);
    }
    let header = ElfHeader {
        kind: u16_at(b, 16),
        entry: u64_at(b, 24),
        phoff: u64_at(b, 32),
        phentsize: u16_at(b, 54),
        phnum: u16_at(b, 56),
    };
    if u16_at(b, 18) != EM_X86_64 || !matches!(header.kind, ET_EXEC | ET_DYN) {
        return Err(Errno::ENOEXEC);
    }
    if header.phentsize != 56 || header.phnum == 0 || header.phnum as usize > MAX_PHDRS {
        return Err(Errno::ENOEXEC);
    }
    Ok(header)
}

fn read_phdrs(exe: &Exe, h: &ElfHeader) -> Result<Vec<ProgramHeader>> {
    let mut raw = vec![0u8; h.phnum as usize * 56];
    exe.read_exact_at(&mut raw, h.phoff)?;
    Ok(raw
        .chunks_exact(56)
        .map(|p| ProgramHeader {
            kind: u32_at(p, 0),
            flags: u32_at(p, 4),
            offset: u64_at(p, 8),
            vaddr: u64_at(p, 16),
            filesz: u64_at(p, 32),
            memsz: u64_at(p, 40),
        })
        .collect())
}

/// PF_X/PF_W/PF_R to PROT_*.
fn prot_of(flags: u32) -> i32 {
    let mut prot = 0;
    if flags & 4 != 0 {
        prot |= libc::PROT_READ;
    }
    if flags & 2 != 0 {
        prot |= libc::PROT_WRITE;
    }
    if flags & 1 != 0 {
        prot |= libc::PROT_EXEC;
    }
    prot
}

/// One ELF image mapped into the address space.
struct Image {
    bias: u64,
    header: ElfHeader,
    phdr_addr: u64,
    /// End of the highest segment (the initial program break).
    end: u64,
    interp: Option<Vec<u8>>,
}

fn load_elf(mm: &MemoryManager, ctx: &mut dyn Context, exe: &Exe, is_interp: bool) -> Result<Image> {
    let mut raw = [0u8; 64];
    exe.read_exact_at(&mut raw, 0)?;
    let header = parse_header(&raw)?;
    let phdrs = read_phdrs(exe, &header)?;
    let loads: Vec<&ProgramHeader> = phdrs.iter().filter(|p| p.kind == PT_LOAD).collect();
    let first = loads.first().ok_or(Errno::ENOEXEC)?;
    let lo = page_down(first.vaddr);
    let mut hi = 0;
    for p in &loads {
        if p.filesz > p.memsz || p.offset % PAGE_SIZE != p.vaddr % PAGE_SIZE {
            return Err(Errno::ENOEXEC);
        }
        hi = hi.max(p.vaddr.checked_add(p.memsz).ok_or(Errno::ENOEXEC)?);
    }
    let span = page_up(hi)
        .ok_or(Errno::ENOEXEC)?
        .checked_sub(lo)
        .ok_or(Errno::ENOEXEC)?;
    // Reserve the whole span first so the segments land where the ELF
    // expects them relative to each other.
    let bias = if header.kind == ET_DYN {
        let hint = if is_interp { 0 } else { DYN_EXEC_BASE };
        let base = mm.mmap(
            ctx,
            hint,
            span,
            libc::PROT_NONE,
            false,
            false,
            false,
            Backing::Anonymous,
        )?;
        base - lo
    } else {
        mm.mmap(ctx, lo, span, libc::PROT_NONE, false, true, false, Backing::Anonymous)?;
        0
    };
    for p in &loads {
        map_segment(mm, ctx, exe, p, bias)?;
    }
    let interp = match phdrs.iter().find(|p| p.kind == PT_INTERP) {
        Some(p) if !is_interp => Some(read_interp_path(exe, p)?),
        _ => None,
    };
    let phdr_addr = match phdrs.iter().find(|p| p.kind == PT_PHDR) {
        Some(p) => p.vaddr + bias,
        None => {
            let containing = loads
                .iter()
                .find(|p| header.phoff >= p.offset && header.phoff < p.offset + p.filesz)
                .ok_or(Errno::ENOEXEC)?;
            containing.vaddr + (header.phoff - containing.offset) + bias
        }
    };
    Ok(Image {
        bias,
        header,
        phdr_addr,
        end: hi + bias,
        interp,
    })
}

/// Maps one PT_LOAD segment: file bytes up to p_filesz, zeros after (the
/// tail of the last file page and the bss pages).
fn map_segment(mm: &MemoryManager, ctx: &mut dyn Context, exe: &Exe, p: &ProgramHeader, bias: u64) -> Result<()> {
    let start = page_down(p.vaddr + bias);
    let file_start = page_down(p.offset);
    let file_end = p.offset + p.filesz;
    let mem_end = page_up(p.vaddr + bias + p.memsz).ok_or(Errno::ENOEXEC)?;
    let prot = prot_of(p.flags);
    let stat = exe.dentry.inode.stat()?;
    let read_at = |buf: &mut [u8], off: u64| -> Result<usize> {
        if off >= file_end {
            return Ok(0);
        }
        let want = buf.len().min((file_end - off) as usize);
        exe.file.read(&mut buf[..want], off)
    };
    let name = VmaName::File {
        path: exe.dentry.path.clone(),
        offset: file_start,
        dev: stat.dev,
        ino: stat.ino,
    };
    mm.mmap(
        ctx,
        start,
        mem_end - start,
        prot,
        false,
        true,
        false,
        Backing::Image {
            read_at: &read_at,
            offset: file_start,
            name,
        },
    )?;
    Ok(())
}

fn read_interp_path(exe: &Exe, p: &ProgramHeader) -> Result<Vec<u8>> {
    if p.filesz == 0 || p.filesz > 4096 {
        return Err(Errno::ENOEXEC);
    }
    let mut path = vec![0u8; p.filesz as usize];
    exe.read_exact_at(&mut path, p.offset)?;
    if let Some(nul) = path.iter().position(|&c| c == 0) {
        path.truncate(nul);
    }
    Ok(path)
}

/// Parses "#!interp [arg]"; None if the file is not a script.
fn parse_shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&c| c == b'\n').next().unwrap_or(rest);
    let line: &[u8] = &line[..line.len().min(MAX_SHEBANG)];
    let is_space = |c: &u8| *c == b' ' || *c == b'\t';
    let start = line.iter().position(|c| !is_space(c))?;
    let line = &line[start..];
    let end = line.iter().position(is_space).unwrap_or(line.len());
    let interp = line[..end].to_vec();
    let arg = line[end..].iter().position(|c| !is_space(c)).map(|s| {
        let a = &line[end + s..];
        let e = a.iter().rposition(|c| !is_space(c)).map_or(0, |e| e + 1);
        a[..e].to_vec()
    });
    Some((interp, arg))
}

/// Host CPU capability words for AT_HWCAP/AT_HWCAP2.
fn host_hwcap() -> (u64, u64) {
    // SAFETY: getauxval only reads this process's auxiliary vector.
    unsafe { (libc::getauxval(libc::AT_HWCAP), libc::getauxval(libc::AT_HWCAP2)) }
}

/// Loads `path` into the (empty) address space and builds the initial
/// stack. Errors are what execve(2) returns.
pub fn load(
    mm: &MemoryManager,
    ctx: &mut dyn Context,
    fs: &FsContext,
    path: &[u8],
    mut argv: Vec<Vec<u8>>,
    envp: &[Vec<u8>],
    creds: (u32, u32),
) -> Result<Loaded> {
    let mut path = path.to_vec();
    let mut exe = Exe::open(fs, &path)?;
    for depth in 0.. {
        let mut head = [0u8; MAX_SHEBANG + 2];
        let n = exe.read_head(&mut head)?;
        let Some((interp, arg)) = parse_shebang(&head[..n]) else {
            break;
        };
        if depth >= MAX_INTERP_DEPTH {
            return Err(Errno::ELOOP);
        }
        let mut new_argv = vec![interp.clone()];
        new_argv.extend(arg);
        new_argv.push(path.clone());
        new_argv.extend(argv.into_iter().skip(1));
        argv = new_argv;
        path = interp;
        exe = Exe::open(fs, &path)?;
    }
    let image = load_elf(mm, ctx, &exe, false)?;
    let (entry, interp_base) = match &image.interp {
        Some(interp_path) => {
            let interp = Exe::open(fs, interp_path)?;
            let li = load_elf(mm, ctx, &interp, true)?;
            (li.header.entry + li.bias, li.bias)
        }
        None => (image.header.entry + image.bias, 0),
    };
    mm.set_brk_start(image.end)?;
    let stack_top = mm.map_stack(ctx, STACK_SIZE)?;
    let auxv = Auxv {
        phdr: image.phdr_addr,
        phnum: image.header.phnum as u64,
        base: interp_base,
        entry: image.header.entry + image.bias,
        uid: creds.0 as u64,
        gid: creds.1 as u64,
    };
    let (sp, auxv) = build_stack(mm, stack_top, &path, &argv, envp, &auxv)?;
    Ok(Loaded {
        entry,
        stack_pointer: sp,
        exe: exe.dentry,
        argv,
        auxv,
    })
}

struct Auxv {
    phdr: u64,
    phnum: u64,
    base: u64,
    entry: u64,
    uid: u64,
    gid: u64,
}

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;

/// Writes strings, then the pointer block, downward from `top`; returns
/// the initial rsp (pointing at argc, 16-byte aligned) and the auxv words.
fn build_stack(
    mm: &MemoryManager,
    top: u64,
    execfn: &[u8],
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    aux: &Auxv,
) -> Result<(u64, Arc<[u64]>)> {
    let mut sp = top;
    let mut push_bytes = |bytes: &[u8]| -> Result<u64> {
        sp = sp.checked_sub(bytes.len() as u64).ok_or(Errno::E2BIG)?;
        mm.write_force(sp, bytes)?;
        Ok(sp)
    };
    let mut push_cstr = |s: &[u8]| -> Result<u64> {
        let mut v = s.to_vec();
        v.push(0);
        push_bytes(&v)
    };
    let execfn_addr = push_cstr(execfn)?;
    let argv_addrs = argv.iter().map(|a| push_cstr(a)).collect::<Result<Vec<_>>>()?;
    let envp_addrs = envp.iter().map(|e| push_cstr(e)).collect::<Result<Vec<_>>>()?;
    let platform_addr = push_cstr(b"x86_64")?;
    let mut random = [0u8; 16];
    getrandom(&mut random);
    let random_addr = push_bytes(&random)?;
    if top - sp > STACK_SIZE / 4 {
        return Err(Errno::E2BIG);
    }
    let (hwcap, hwcap2) = host_hwcap();
    let auxv: [(u64, u64); 19] = [
        (AT_PHDR, aux.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, aux.phnum),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_BASE, aux.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, aux.entry),
        (AT_UID, aux.uid),
        (AT_EUID, aux.uid),
        (AT_GID, aux.gid),
        (AT_EGID, aux.gid),
        (AT_SECURE, 0),
        (AT_RANDOM, random_addr),
        (AT_HWCAP, hwcap),
        (AT_HWCAP2, hwcap2),
        (AT_CLKTCK, 100),
        (AT_PLATFORM, platform_addr),
        (AT_EXECFN, execfn_addr),
        (AT_NULL, 0),
    ];
    let auxv_words: Vec<u64> = auxv.iter().flat_map(|&(k, v)| [k, v]).collect();
    let mut words: Vec<u64> = vec![argv.len() as u64];
    words.extend(&argv_addrs);
    words.push(0);
    words.extend(&envp_addrs);
    words.push(0);
    words.extend(&auxv_words);
    let block = words.len() as u64 * 8;
    let sp = (sp - block) & !15;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mm.write(sp, &bytes)?;
    Ok((sp, Arc::from(auxv_words)))
}

fn getrandom(buf: &mut [u8]) {
    // SAFETY: fills our own buffer; a short read leaves zeros, which only
    // weakens the guest's stack canary seed, never memory safety.
    unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_forms() {
        assert_eq!(parse_shebang(b"#!/bin/sh\necho"), Some((b"/bin/sh".to_vec(), None)));
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env  python3 \n"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3".to_vec())))
        );
        assert_eq!(
            parse_shebang(b"#!/bin/sh -e -x\n"),
            Some((b"/bin/sh".to_vec(), Some(b"-e -x".to_vec())))
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"\x7fELF"), None);
    }

    #[test]
    fn rejects_non_elf_and_wrong_machine() {
        let mut h = [0u8; 64];
        assert_eq!(parse_header(&h).err(), Some(Errno::ENOEXEC));
        h[..4].copy_from_slice(ELF_MAGIC);
        h[4] = 2;
        h[5] = 1;
        h[6] = 1;
        h[16] = 2; // ET_EXEC
        h[18] = 40; // EM_ARM
        h[54] = 56;
        h[56] = 1;
        assert_eq!(parse_header(&h).err(), Some(Errno::ENOEXEC));
        h[18] = 62;
        assert!(parse_header(&h).is_ok());
    }
}
