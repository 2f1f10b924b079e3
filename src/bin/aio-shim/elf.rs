//! Just enough ELF to answer the questions the command asks about a program:
//! is it dynamically linked (does it have a `PT_INTERP`, so that `ld.so` will
//! honour `LD_PRELOAD`), for which machine, which libraries does it need, and
//! which symbols (with versions) does it import or export.
//!
//! Everything is bounds-checked: a truncated or hostile file gives an `Err`,
//! never a panic. Both classes (32/64-bit) and both byte orders are handled.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PN_XNUM: u16 = 0xffff;

const SHT_DYNAMIC: u32 = 6;
const SHT_DYNSYM: u32 = 11;
const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;

const DT_NEEDED: u64 = 1;
const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_PIE: u64 = 0x0800_0000;

/// What the program headers say about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub class64: bool,
    pub little_endian: bool,
    pub e_type: u16,
    pub machine: u16,
    /// The requested program interpreter (`PT_INTERP`), e.g. `/lib64/ld-linux-x86-64.so.2`.
    pub interp: Option<String>,
    /// Whether there is a `PT_DYNAMIC` segment (true for static-pie too).
    pub has_dynamic: bool,
}

impl ElfInfo {
    /// Dynamically linked in the sense that matters here: the kernel starts
    /// `ld.so`, which reads `LD_PRELOAD`. Static and static-pie programs have
    /// no interpreter and ignore `LD_PRELOAD`.
    pub fn is_dynamic(&self) -> bool {
        self.interp.is_some()
    }

    /// A one-line description: "dynamic (interpreter /lib64/ld-linux-x86-64.so.2)".
    pub fn linkage(&self) -> String {
        match (&self.interp, self.has_dynamic, self.e_type) {
            (Some(i), _, _) => format!("dynamic (interpreter {i})"),
            (None, true, ET_DYN) => "static-pie (no PT_INTERP)".to_string(),
            (None, _, ET_DYN) => "no PT_INTERP (a shared object, not a program)".to_string(),
            (None, _, _) => "static (no PT_INTERP)".to_string(),
        }
    }

    /// For a program that is not dynamic: "statically linked (no PT_INTERP)".
    pub fn static_description(&self) -> String {
        if self.has_dynamic && self.e_type == ET_DYN {
            "a static-pie program (no PT_INTERP)".into()
        } else {
            "statically linked (no PT_INTERP)".into()
        }
    }

    /// "x86-64, 64-bit LSB" and the like.
    pub fn describe_machine(&self) -> String {
        format!(
            "{}, {}-bit {}",
            machine_name(self.machine),
            if self.class64 { 64 } else { 32 },
            if self.little_endian { "LSB" } else { "MSB" }
        )
    }

    /// Can a library described by `lib` be loaded into a process described by `self`?
    pub fn compatible_with(&self, lib: &ElfInfo) -> bool {
        self.class64 == lib.class64
            && self.little_endian == lib.little_endian
            && self.machine == lib.machine
    }
}

pub fn machine_name(m: u16) -> String {
    match m {
        3 => "i386".into(),
        8 => "MIPS".into(),
        20 => "PowerPC".into(),
        21 => "PowerPC64".into(),
        22 => "S/390".into(),
        40 => "ARM".into(),
        62 => "x86-64".into(),
        183 => "AArch64".into(),
        243 => "RISC-V".into(),
        258 => "LoongArch".into(),
        other => format!("machine {other}"),
    }
}

/// What kind of executable file this is, as far as `execve` is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecKind {
    Elf(ElfInfo),
    /// A `#!` script: the interpreter path and its optional argument.
    Script {
        interp: String,
    },
    /// Neither; `execve` will decide (usually ENOEXEC).
    Unknown,
}

#[derive(Debug)]
pub enum ElfError {
    Io(io::Error),
    Malformed(&'static str),
}

impl std::fmt::Display for ElfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ElfError::Io(e) => write!(f, "{e}"),
            ElfError::Malformed(what) => write!(f, "malformed ELF file: {what}"),
        }
    }
}

impl From<io::Error> for ElfError {
    fn from(e: io::Error) -> Self {
        ElfError::Io(e)
    }
}

/// Bounds-checked little/big-endian reads from a byte slice.
#[derive(Clone, Copy)]
struct Bytes<'a> {
    d: &'a [u8],
    le: bool,
}

impl<'a> Bytes<'a> {
    fn slice(&self, off: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(off).ok()?;
        let len = usize::try_from(len).ok()?;
        self.d.get(start..start.checked_add(len)?)
    }
    fn u16(&self, off: u64) -> Option<u16> {
        let b: [u8; 2] = self.slice(off, 2)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    fn u32(&self, off: u64) -> Option<u32> {
        let b: [u8; 4] = self.slice(off, 4)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    fn u64(&self, off: u64) -> Option<u64> {
        let b: [u8; 8] = self.slice(off, 8)?.try_into().ok()?;
        Some(if self.le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
    /// A word: 8 bytes in a 64-bit file, 4 in a 32-bit one.
    fn word(&self, off: u64, class64: bool) -> Option<u64> {
        if class64 {
            self.u64(off)
        } else {
            self.u32(off).map(u64::from)
        }
    }
    /// A NUL-terminated string starting at `off`.
    fn cstr(&self, off: u64) -> Option<String> {
        let start = usize::try_from(off).ok()?;
        let rest = self.d.get(start..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    }
}

/// The ELF file header fields we use.
#[derive(Debug, Clone, Copy)]
struct Header {
    class64: bool,
    le: bool,
    e_type: u16,
    machine: u16,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
}

const EHDR_MAX: usize = 64;

fn parse_header(d: &[u8]) -> Result<Header, ElfError> {
    if d.len() < 16 || &d[..4] != b"\x7fELF" {
        return Err(ElfError::Malformed("no ELF magic"));
    }
    let class64 = match d[4] {
        1 => false,
        2 => true,
        _ => return Err(ElfError::Malformed("unknown ELF class")),
    };
    let le = match d[5] {
        1 => true,
        2 => false,
        _ => return Err(ElfError::Malformed("unknown byte order")),
    };
    let b = Bytes { d, le };
    let t = || ElfError::Malformed("truncated file header");
    let h = if class64 {
        Header {
            class64,
            le,
            e_type: b.u16(16).ok_or_else(t)?,
            machine: b.u16(18).ok_or_else(t)?,
            phoff: b.u64(32).ok_or_else(t)?,
            shoff: b.u64(40).ok_or_else(t)?,
            phentsize: b.u16(54).ok_or_else(t)?,
            phnum: b.u16(56).ok_or_else(t)?,
            shentsize: b.u16(58).ok_or_else(t)?,
            shnum: b.u16(60).ok_or_else(t)?,
            shstrndx: b.u16(62).ok_or_else(t)?,
        }
    } else {
        Header {
            class64,
            le,
            e_type: b.u16(16).ok_or_else(t)?,
            machine: b.u16(18).ok_or_else(t)?,
            phoff: b.u32(28).map(u64::from).ok_or_else(t)?,
            shoff: b.u32(32).map(u64::from).ok_or_else(t)?,
            phentsize: b.u16(42).ok_or_else(t)?,
            phnum: b.u16(44).ok_or_else(t)?,
            shentsize: b.u16(46).ok_or_else(t)?,
            shnum: b.u16(48).ok_or_else(t)?,
            shstrndx: b.u16(50).ok_or_else(t)?,
        }
    };
    let want_ph = if class64 { 56 } else { 32 };
    if h.phnum != 0 && usize::from(h.phentsize) < want_ph {
        return Err(ElfError::Malformed("program header entries too small"));
    }
    Ok(h)
}

/// One program header: type, file offset, file size.
fn phdr(b: Bytes, h: &Header, i: u64, base: u64) -> Option<(u32, u64, u64)> {
    let off = base.checked_add(i.checked_mul(u64::from(h.phentsize))?)?;
    if h.class64 {
        Some((
            b.u32(off)?,
            b.u64(off.saturating_add(8))?,
            b.u64(off.saturating_add(32))?,
        ))
    } else {
        Some((
            b.u32(off)?,
            u64::from(b.u32(off.saturating_add(4))?),
            u64::from(b.u32(off.saturating_add(16))?),
        ))
    }
}

/// Reads what `execve` would look at: the ELF header and program headers, or
/// the `#!` line. Reads only the bytes it needs, so it is cheap on huge files.
pub fn inspect_exec(path: &Path) -> Result<ExecKind, ElfError> {
    let mut f = File::open(path)?;
    let mut head = Vec::with_capacity(256);
    (&mut f).take(256).read_to_end(&mut head)?;
    if head.starts_with(b"#!") {
        let line = head[2..].split(|&c| c == b'\n').next().unwrap_or(&[]);
        let line = String::from_utf8_lossy(line);
        let interp = line.split_whitespace().next().unwrap_or("").to_string();
        return Ok(ExecKind::Script { interp });
    }
    if !head.starts_with(b"\x7fELF") {
        return Ok(ExecKind::Unknown);
    }
    let h = parse_header(&head[..head.len().min(EHDR_MAX)])?;
    let mut phnum = u64::from(h.phnum);
    if h.phnum == PN_XNUM {
        // The real count is in sh_info of section 0.
        let mut sh0 = vec![0u8; usize::from(h.shentsize).max(64)];
        f.read_exact_at(&mut sh0, h.shoff)?;
        let b = Bytes { d: &sh0, le: h.le };
        phnum = u64::from(
            b.u32(if h.class64 { 44 } else { 28 })
                .ok_or(ElfError::Malformed("bad section 0"))?,
        );
    }
    let table_len = phnum
        .checked_mul(u64::from(h.phentsize))
        .filter(|&n| n <= 1 << 20)
        .ok_or(ElfError::Malformed("absurd program header table"))?;
    let mut table = vec![0u8; table_len as usize];
    f.read_exact_at(&mut table, h.phoff)
        .map_err(|_| ElfError::Malformed("program header table past end of file"))?;
    let b = Bytes {
        d: &table,
        le: h.le,
    };
    let mut info = ElfInfo {
        class64: h.class64,
        little_endian: h.le,
        e_type: h.e_type,
        machine: h.machine,
        interp: None,
        has_dynamic: false,
    };
    for i in 0..phnum {
        let (ty, off, size) = phdr(b, &h, i, 0).ok_or(ElfError::Malformed("program header"))?;
        match ty {
            PT_INTERP => {
                if size == 0 || size > 4096 {
                    return Err(ElfError::Malformed("bad PT_INTERP size"));
                }
                let mut s = vec![0u8; size as usize];
                f.read_exact_at(&mut s, off)
                    .map_err(|_| ElfError::Malformed("PT_INTERP past end of file"))?;
                let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                info.interp = Some(String::from_utf8_lossy(&s[..end]).into_owned());
            }
            PT_DYNAMIC => info.has_dynamic = true,
            _ => {}
        }
    }
    Ok(ExecKind::Elf(info))
}

/// A dynamic symbol with its version, as `readelf --dyn-syms` would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynSym {
    pub name: String,
    /// Defined in this file (exported) rather than imported.
    pub defined: bool,
    /// The version name (`GLIBC_2.34`), if the symbol is versioned.
    pub version: Option<String>,
    /// For a defined symbol: a non-default version (`name@V`, not `name@@V`).
    pub hidden: bool,
    /// For an imported symbol: the library the version is required from.
    pub from_file: Option<String>,
}

impl DynSym {
    /// `aio_read@GLIBC_2.34`, `aio_read@@GLIBC_2.34` (default version of an
    /// export) or plain `aio_read`.
    pub fn display(&self) -> String {
        match &self.version {
            None => self.name.clone(),
            Some(v) if self.defined && !self.hidden => format!("{}@@{}", self.name, v),
            Some(v) => format!("{}@{}", self.name, v),
        }
    }
}

/// The dynamic-linking tables of a whole ELF file, read from its section headers.
#[derive(Debug, Clone, Default)]
pub struct DynamicInfo {
    pub needed: Vec<String>,
    pub symbols: Vec<DynSym>,
    pub pie: bool,
}

struct Section {
    ty: u32,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

fn sections(b: Bytes, h: &Header) -> Result<Vec<Section>, ElfError> {
    if h.shoff == 0 || h.shnum == 0 {
        return Err(ElfError::Malformed(
            "no section headers (stripped with sstrip?)",
        ));
    }
    let want = if h.class64 { 64 } else { 40 };
    if usize::from(h.shentsize) < want {
        return Err(ElfError::Malformed("section header entries too small"));
    }
    let mut v = Vec::with_capacity(usize::from(h.shnum));
    for i in 0..u64::from(h.shnum) {
        let off = h
            .shoff
            .saturating_add(i.saturating_mul(u64::from(h.shentsize)));
        let bad = || ElfError::Malformed("section header past end of file");
        let s = if h.class64 {
            Section {
                ty: b.u32(off.saturating_add(4)).ok_or_else(bad)?,
                offset: b.u64(off.saturating_add(24)).ok_or_else(bad)?,
                size: b.u64(off.saturating_add(32)).ok_or_else(bad)?,
                link: b.u32(off.saturating_add(40)).ok_or_else(bad)?,
                info: b.u32(off.saturating_add(44)).ok_or_else(bad)?,
                entsize: b.u64(off.saturating_add(56)).ok_or_else(bad)?,
            }
        } else {
            Section {
                ty: b.u32(off.saturating_add(4)).ok_or_else(bad)?,
                offset: u64::from(b.u32(off.saturating_add(16)).ok_or_else(bad)?),
                size: u64::from(b.u32(off.saturating_add(20)).ok_or_else(bad)?),
                link: b.u32(off.saturating_add(24)).ok_or_else(bad)?,
                info: b.u32(off.saturating_add(28)).ok_or_else(bad)?,
                entsize: u64::from(b.u32(off.saturating_add(36)).ok_or_else(bad)?),
            }
        };
        v.push(s);
    }
    let _ = h.shstrndx; // section names are not needed: types identify everything
    Ok(v)
}

/// Version index -> (version name, file it is needed from), from `.gnu.version_r`.
fn parse_verneed(
    b: Bytes,
    sec: &Section,
    strtab: u64,
    out: &mut Vec<(u16, String, Option<String>)>,
) {
    let mut off = sec.offset;
    let end = sec.offset.saturating_add(sec.size);
    for _ in 0..sec.info.clamp(1, 4096) {
        if off >= end {
            break;
        }
        let (Some(cnt), Some(file), Some(aux), Some(next)) = (
            b.u16(off.saturating_add(2)),
            b.u32(off.saturating_add(4)),
            b.u32(off.saturating_add(8)),
            b.u32(off.saturating_add(12)),
        ) else {
            return;
        };
        let file_name = b.cstr(strtab.saturating_add(u64::from(file)));
        let mut a = off.saturating_add(u64::from(aux));
        for _ in 0..cnt {
            let (Some(other), Some(name), Some(anext)) = (
                b.u16(a.saturating_add(6)),
                b.u32(a.saturating_add(8)),
                b.u32(a.saturating_add(12)),
            ) else {
                return;
            };
            if let Some(n) = b.cstr(strtab.saturating_add(u64::from(name))) {
                out.push((other, n, file_name.clone()));
            }
            if anext == 0 {
                break;
            }
            a = a.saturating_add(u64::from(anext));
        }
        if next == 0 {
            break;
        }
        off = off.saturating_add(u64::from(next));
    }
}

/// Version index -> version name, from `.gnu.version_d`.
fn parse_verdef(
    b: Bytes,
    sec: &Section,
    strtab: u64,
    out: &mut Vec<(u16, String, Option<String>)>,
) {
    let mut off = sec.offset;
    for _ in 0..sec.info.clamp(1, 4096) {
        let (Some(ndx), Some(aux), Some(next)) = (
            b.u16(off.saturating_add(4)),
            b.u32(off.saturating_add(12)),
            b.u32(off.saturating_add(16)),
        ) else {
            return;
        };
        // The first verdaux entry names the version itself.
        if let Some(name_off) = b.u32(off.saturating_add(u64::from(aux))) {
            if let Some(n) = b.cstr(strtab.saturating_add(u64::from(name_off))) {
                out.push((ndx, n, None));
            }
        }
        if next == 0 {
            break;
        }
        off = off.saturating_add(u64::from(next));
    }
}

/// Reads `.dynsym`, `.gnu.version`, `.gnu.version_r`, `.gnu.version_d` and
/// `.dynamic` of a whole ELF image.
pub fn dynamic_info(data: &[u8]) -> Result<DynamicInfo, ElfError> {
    let h = parse_header(data)?;
    let b = Bytes { d: data, le: h.le };
    let secs = sections(b, &h)?;
    let strtab_of = |s: &Section| secs.get(s.link as usize).map(|t| t.offset);
    let mut out = DynamicInfo::default();

    // DT_NEEDED and DF_1_PIE from .dynamic.
    if let Some(dynsec) = secs.iter().find(|s| s.ty == SHT_DYNAMIC) {
        if let Some(strtab) = strtab_of(dynsec) {
            let ent = if h.class64 { 16 } else { 8 };
            let n = dynsec.size / ent;
            for i in 0..n.min(1 << 16) {
                let off = dynsec.offset.saturating_add(i.saturating_mul(ent));
                let (Some(tag), Some(val)) = (
                    b.word(off, h.class64),
                    b.word(off.saturating_add(ent / 2), h.class64),
                ) else {
                    break;
                };
                match tag {
                    0 => break,
                    DT_NEEDED => {
                        if let Some(s) = b.cstr(strtab.saturating_add(val)) {
                            out.needed.push(s);
                        }
                    }
                    DT_FLAGS_1 => out.pie = val & DF_1_PIE != 0,
                    _ => {}
                }
            }
        }
    }

    let Some(dynsym) = secs.iter().find(|s| s.ty == SHT_DYNSYM) else {
        return Ok(out);
    };
    let strtab = strtab_of(dynsym).ok_or(ElfError::Malformed(".dynsym has no string table"))?;
    let mut versions: Vec<(u16, String, Option<String>)> = Vec::new();
    for s in &secs {
        match s.ty {
            SHT_GNU_VERNEED => {
                if let Some(st) = strtab_of(s) {
                    parse_verneed(b, s, st, &mut versions)
                }
            }
            SHT_GNU_VERDEF => {
                if let Some(st) = strtab_of(s) {
                    parse_verdef(b, s, st, &mut versions)
                }
            }
            _ => {}
        }
    }
    let versym = secs.iter().find(|s| s.ty == SHT_GNU_VERSYM);

    let entsize = if dynsym.entsize != 0 {
        dynsym.entsize
    } else if h.class64 {
        24
    } else {
        16
    };
    let count = dynsym.size / entsize;
    for i in 1..count.min(1 << 22) {
        let off = dynsym.offset.saturating_add(i.saturating_mul(entsize));
        let (name_off, shndx) = if h.class64 {
            (b.u32(off), b.u16(off.saturating_add(6)))
        } else {
            (b.u32(off), b.u16(off.saturating_add(14)))
        };
        let (Some(name_off), Some(shndx)) = (name_off, shndx) else {
            return Err(ElfError::Malformed(".dynsym past end of file"));
        };
        let name = b
            .cstr(strtab.saturating_add(u64::from(name_off)))
            .unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let defined = shndx != 0;
        let mut sym = DynSym {
            name,
            defined,
            version: None,
            hidden: false,
            from_file: None,
        };
        if let Some(vs) = versym {
            if let Some(raw) = b.u16(vs.offset.saturating_add(i.saturating_mul(2))) {
                let idx = raw & 0x7fff;
                sym.hidden = raw & 0x8000 != 0;
                if idx > 1 {
                    if let Some((_, v, file)) = versions.iter().find(|(n, _, _)| *n == idx) {
                        sym.version = Some(v.clone());
                        if !defined {
                            sym.from_file = file.clone();
                        }
                    }
                }
            }
        }
        out.symbols.push(sym);
    }
    Ok(out)
}

/// `ElfInfo` from a whole in-memory image (for tests and for `doctor`, which
/// reads the file anyway).
pub fn elf_info(data: &[u8]) -> Result<ElfInfo, ElfError> {
    let h = parse_header(data)?;
    let b = Bytes { d: data, le: h.le };
    let mut info = ElfInfo {
        class64: h.class64,
        little_endian: h.le,
        e_type: h.e_type,
        machine: h.machine,
        interp: None,
        has_dynamic: false,
    };
    for i in 0..u64::from(h.phnum) {
        let (ty, off, size) =
            phdr(b, &h, i, h.phoff).ok_or(ElfError::Malformed("program header"))?;
        match ty {
            PT_INTERP => {
                info.interp = Some(
                    b.cstr(off)
                        .filter(|_| size > 0)
                        .ok_or(ElfError::Malformed("bad PT_INTERP"))?,
                )
            }
            PT_DYNAMIC => info.has_dynamic = true,
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("aio-shim-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn bin_ls_is_dynamic() {
        let p = Path::new("/bin/ls");
        if !p.exists() {
            eprintln!("skipped: no /bin/ls");
            return;
        }
        let ExecKind::Elf(info) = inspect_exec(p).unwrap() else {
            panic!("/bin/ls is not ELF")
        };
        assert!(info.is_dynamic(), "{info:?}");
        assert!(info.interp.as_deref().unwrap().contains("ld-"), "{info:?}");
        // Both readers agree.
        let data = std::fs::read(p).unwrap();
        assert_eq!(elf_info(&data).unwrap(), info);
        let dy = dynamic_info(&data).unwrap();
        assert!(
            dy.needed.iter().any(|n| n.starts_with("libc.so")),
            "{:?}",
            dy.needed
        );
        // ls imports some libc function with a GLIBC_ version.
        assert!(dy.symbols.iter().any(|s| !s.defined
            && s.version
                .as_deref()
                .is_some_and(|v| v.starts_with("GLIBC_"))));
    }

    #[test]
    fn static_binary_is_static() {
        let dir = tempdir("static");
        let src = dir.join("s.c");
        std::fs::write(&src, "int main(void){return 0;}\n").unwrap();
        let out = dir.join("s");
        let ok = Command::new("gcc")
            .args(["-static", "-o"])
            .arg(&out)
            .arg(&src)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipped: gcc -static not available (no glibc static libraries?)");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let ExecKind::Elf(info) = inspect_exec(&out).unwrap() else {
            panic!("not ELF")
        };
        assert!(!info.is_dynamic(), "{info:?}");
        assert!(info.linkage().starts_with("static"), "{}", info.linkage());

        // And the same program linked dynamically is dynamic.
        let dynout = dir.join("d");
        let ok = Command::new("gcc")
            .arg("-o")
            .arg(&dynout)
            .arg(&src)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let ExecKind::Elf(info) = inspect_exec(&dynout).unwrap() else {
            panic!("not ELF")
        };
        assert!(info.is_dynamic());

        // static-pie, where the toolchain supports it.
        let spie = dir.join("sp");
        let ok = Command::new("gcc")
            .args(["-static-pie", "-o"])
            .arg(&spie)
            .arg(&src)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            let ExecKind::Elf(info) = inspect_exec(&spie).unwrap() else {
                panic!("not ELF")
            };
            assert!(!info.is_dynamic(), "{info:?}");
            assert!(
                info.linkage().starts_with("static-pie"),
                "{}",
                info.linkage()
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scripts_and_garbage() {
        let dir = tempdir("script");
        let s = dir.join("script");
        std::fs::write(&s, "#!/bin/sh -e\necho hi\n").unwrap();
        assert_eq!(
            inspect_exec(&s).unwrap(),
            ExecKind::Script {
                interp: "/bin/sh".into()
            }
        );
        let g = dir.join("garbage");
        std::fs::write(&g, "hello").unwrap();
        assert_eq!(inspect_exec(&g).unwrap(), ExecKind::Unknown);
        // Truncated ELF: an error, not a panic.
        let t = dir.join("trunc");
        std::fs::write(&t, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0").unwrap();
        assert!(inspect_exec(&t).is_err());
        assert!(elf_info(b"\x7fELF\x02\x01").is_err());
        assert!(dynamic_info(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn aio_program_imports_versioned_symbols() {
        let dir = tempdir("aiosyms");
        let src = dir.join("a.c");
        std::fs::write(
            &src,
            "#include <aio.h>\nint main(void){struct aiocb cb={0};aio_read(&cb);return aio_error(&cb);}\n",
        )
        .unwrap();
        let out = dir.join("a");
        let ok = Command::new("gcc")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .arg("-lrt")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("skipped: gcc not available");
            return;
        }
        let data = std::fs::read(&out).unwrap();
        let dy = dynamic_info(&data).unwrap();
        let r = dy
            .symbols
            .iter()
            .find(|s| s.name == "aio_read")
            .expect("aio_read imported");
        assert!(!r.defined);
        assert!(r.version.as_deref().unwrap().starts_with("GLIBC_"), "{r:?}");
        assert!(r.from_file.is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
