//! `aio-shim doctor [--dir DIR] [--file PATH] [BINARY]`: what this machine
//! offers the shim (kernel AIO and fs.aio-nr, io_uring and why it may be
//! off, O_DIRECT in DIR), where the library is, which backend the automatic
//! routing would pick for files in DIR and for PATH, and whether BINARY can
//! be run under the shim and which POSIX AIO symbols it imports. Plain text,
//! one finding per line, `topic: finding`.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cli::{error, long_value};
use crate::elf::{self, ExecKind};
use crate::preload::{self, Refusal, Resolved};

pub const USAGE: &str = "\
Usage: aio-shim doctor [--dir DIR] [--file PATH] [--lib PATH] [BINARY]

Check what this machine offers libaio_shim: kernel AIO (io_setup, fs.aio-nr
and fs.aio-max-nr), io_uring (io_uring_setup; off by kernel.io_uring_disabled,
a seccomp filter or the kernel build), O_DIRECT in DIR (default: the current
directory: filesystem type, minimum working alignment), where libaio_shim.so
is, and which backend the automatic routing would choose for files in DIR.
With --file PATH: the backend PATH would get (a regular file or block device
opened with O_DIRECT: kaio; opened without: RWF_NOWAIT from the page cache,
else the pool; a pipe, socket or tty: the pool). With BINARY (a path, or a
name looked up in PATH): whether it is dynamically linked, set-user-ID or
set-group-ID, and which POSIX AIO symbols and versions it imports.

Options:
  --dir DIR    the directory to test O_DIRECT in (a small temporary file is
               created there and removed)
  --file PATH  an existing file, device, FIFO or socket to route (opened
               read-only, never written; a FIFO is not opened)
  --lib PATH   the libaio_shim.so to look at
  -h, --help   show this help

Exit status: 0 when the checks ran (whatever they found), 1 if BINARY or
PATH cannot be found or read, 2 on a usage error.
";

/// The POSIX AIO entry points the shim replaces (there is no `aio_init64`).
pub const AIO_SYMBOLS: &[&str] = &[
    "aio_read",
    "aio_read64",
    "aio_write",
    "aio_write64",
    "aio_fsync",
    "aio_fsync64",
    "aio_error",
    "aio_error64",
    "aio_return",
    "aio_return64",
    "aio_suspend",
    "aio_suspend64",
    "aio_cancel",
    "aio_cancel64",
    "aio_init",
    "lio_listio",
    "lio_listio64",
];

const SUB: Option<&str> = Some("doctor");

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DoctorOptions {
    pub dir: Option<OsString>,
    pub file: Option<OsString>,
    pub lib: Option<OsString>,
    pub binary: Option<OsString>,
}

/// `Ok(None)` means help was asked for.
pub fn parse(args: &[OsString]) -> Result<Option<DoctorOptions>, String> {
    let mut o = DoctorOptions::default();
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let a = args[i].to_str().unwrap_or("");
        if !only_positional && a == "--" {
            only_positional = true;
        } else if !only_positional && a.starts_with('-') && a != "-" {
            if let Some(v) = long_value("--dir", args, &mut i) {
                o.dir = Some(v?);
            } else if let Some(v) = long_value("--file", args, &mut i) {
                o.file = Some(v?);
            } else if let Some(v) = long_value("--lib", args, &mut i) {
                o.lib = Some(v?);
            } else if a == "-h" || a == "--help" {
                return Ok(None);
            } else {
                return Err(format!("unrecognized option '{a}'"));
            }
        } else if o.binary.is_none() {
            o.binary = Some(args[i].clone());
        } else {
            return Err(format!(
                "unexpected argument '{}' (only one BINARY)",
                args[i].to_string_lossy()
            ));
        }
        i += 1;
    }
    Ok(Some(o))
}

fn errno_text(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::ENOSYS => "ENOSYS",
        libc::EAGAIN => "EAGAIN",
        libc::EINVAL => "EINVAL",
        libc::EACCES => "EACCES",
        libc::ENOMEM => "ENOMEM",
        libc::EROFS => "EROFS",
        libc::ENOENT => "ENOENT",
        libc::EFAULT => "EFAULT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EMFILE => "EMFILE",
        _ => "",
    };
    let desc = preload::errstr(&std::io::Error::from_raw_os_error(e));
    if name.is_empty() {
        desc
    } else {
        format!("{name}: {desc}")
    }
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn read_trimmed(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

fn out(topic: &str, finding: impl AsRef<str>) {
    println!("{topic}: {}", finding.as_ref());
}

/// What the probes found, for the routing lines.
#[derive(Default)]
struct Caps {
    kaio: bool,
    uring: bool,
    /// O_DIRECT could be tried (a test file could be created).
    direct_tested: bool,
    direct_align: Option<usize>,
}

fn check_kaio(caps: &mut Caps) {
    let mut ctx: libc::c_ulong = 0;
    // SAFETY: io_setup writes one aio_context_t to ctx.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_setup,
            1 as libc::c_long,
            &mut ctx as *mut libc::c_ulong,
        )
    };
    if r == 0 {
        // SAFETY: ctx came from io_setup.
        unsafe { libc::syscall(libc::SYS_io_destroy, ctx) };
        caps.kaio = true;
        out("kernel AIO", "available (io_setup(1) and io_destroy work)");
    } else {
        let e = last_errno();
        let filtered = seccomp_mode() == Some(2);
        let why = match e {
            libc::ENOSYS if filtered => {
                " (blocked by this process's seccomp filter, or a kernel built without CONFIG_AIO)"
            }
            libc::ENOSYS => " (kernel built without CONFIG_AIO)",
            libc::EPERM if filtered => " (blocked by this process's seccomp filter)",
            libc::EPERM => " (blocked by a security module)",
            libc::EAGAIN => " (fs.aio-max-nr exhausted: too many AIO contexts system-wide)",
            _ => "",
        };
        out(
            "kernel AIO",
            format!(
                "NOT available: io_setup(1) failed with {}{why}",
                errno_text(e)
            ),
        );
    }
    match (
        read_trimmed("/proc/sys/fs/aio-nr"),
        read_trimmed("/proc/sys/fs/aio-max-nr"),
    ) {
        (Some(n), Some(max)) => {
            out(
                "kernel AIO events in use",
                format!("{n} of {max} (fs.aio-nr / fs.aio-max-nr)"),
            );
            // The kernel charges about twice the requested ring size: the
            // shim's default 1024-event context needs ~2048 free.
            if let (Ok(n), Ok(max)) = (n.parse::<u64>(), max.parse::<u64>()) {
                if max.saturating_sub(n) < 2 * 1024 {
                    out("kernel AIO events in use", "WARNING: fewer than 2048 free: a new process's kernel AIO context may not fit, and its O_DIRECT requests then go to the worker pool (raise fs.aio-max-nr, or lower AIO_SHIM_MAXEVENTS)");
                }
            }
        }
        _ => out(
            "kernel AIO events in use",
            "unknown (/proc/sys/fs/aio-nr not readable)",
        ),
    }
}

fn check_uring(caps: &mut Caps) {
    // struct io_uring_params is 120 bytes; zeroed means "no flags".
    let mut params = [0u32; 30];
    // SAFETY: params is a writable, zeroed io_uring_params.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_io_uring_setup,
            1 as libc::c_uint,
            params.as_mut_ptr(),
        )
    };
    if fd >= 0 {
        // SAFETY: fd is the ring we just created.
        unsafe { libc::close(fd as libc::c_int) };
        caps.uring = true;
        out(
            "io_uring",
            format!(
                "available (io_uring_setup(1) works; features 0x{:x})",
                params[5]
            ),
        );
    } else {
        let e = last_errno();
        let why = uring_failure_reason(
            e,
            read_trimmed("/proc/sys/kernel/io_uring_disabled").as_deref(),
            seccomp_mode(),
        );
        out(
            "io_uring",
            format!(
                "NOT available: io_uring_setup(1) failed with {}{why}",
                errno_text(e)
            ),
        );
    }
    if let Some(m) = seccomp_mode().filter(|&m| m != 0) {
        out(
            "seccomp",
            format!("this process runs under a seccomp {} (Seccomp: {m} in /proc/self/status); programs started from here inherit it", if m == 1 { "strict mode" } else { "filter" }),
        );
    }
    match read_trimmed("/proc/sys/kernel/io_uring_disabled") {
        Some(v) => {
            let meaning = match v.as_str() {
                "0" => "enabled for all",
                "1" => "only for CAP_SYS_ADMIN and members of kernel.io_uring_group",
                "2" => "disabled for all",
                _ => "unknown value",
            };
            out("kernel.io_uring_disabled", format!("{v} ({meaning})"));
        }
        None => out(
            "kernel.io_uring_disabled",
            "absent (kernel older than 6.6: no such switch)",
        ),
    }
}

/// This process's seccomp mode (`Seccomp:` in /proc/self/status): 0 none,
/// 1 strict, 2 filter.
fn seccomp_mode() -> Option<u32> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Why `io_uring_setup` failed with `errno`, given kernel.io_uring_disabled
/// (absent before Linux 6.6) and the seccomp mode.
pub fn uring_failure_reason(errno: i32, disabled: Option<&str>, seccomp: Option<u32>) -> String {
    let filtered = seccomp == Some(2);
    match (errno, disabled) {
        (libc::EPERM, Some("2")) => " (disabled by the kernel.io_uring_disabled=2 sysctl)".into(),
        (libc::EPERM, Some("1")) => " (disabled for this user by the kernel.io_uring_disabled=1 sysctl: only CAP_SYS_ADMIN and kernel.io_uring_group may use it)".into(),
        (libc::EPERM, _) if filtered => {
            " (blocked by this process's seccomp filter, e.g. a container runtime's default profile)".into()
        }
        (libc::EPERM, _) => " (blocked by a security module or a seccomp filter)".into(),
        (libc::ENOSYS, _) if filtered => {
            " (blocked by this process's seccomp filter, or a kernel built without CONFIG_IO_URING)".into()
        }
        (libc::ENOSYS, _) => " (kernel built without CONFIG_IO_URING, or older than 5.1)".into(),
        _ => String::new(),
    }
}

/// statfs f_type -> name.
pub fn fs_name(magic: u64) -> &'static str {
    match magic {
        0xEF53 => "ext2/ext3/ext4",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x858_458F6 => "ramfs",
        0x794C_7630 => "overlay",
        0x6969 => "nfs",
        0x6573_5546 => "fuse",
        0xFF53_4D42 => "cifs",
        0xFE53_4D42 => "smb2",
        0x2FC1_2FC1 => "zfs",
        0xF2F5_2010 => "f2fs",
        0x0102_1997 => "9p",
        0x4d44 => "vfat",
        0x5346_544e => "ntfs",
        0x2011_BAB0 => "exfat",
        0x7371_7368 => "squashfs",
        0x6165_676C => "pstore",
        0x1CD1 => "devpts",
        0x9FA0 => "proc",
        0x6265_6572 => "sysfs",
        _ => "unknown",
    }
}

/// An aligned heap buffer.
struct Aligned {
    ptr: *mut u8,
    len: usize,
}

impl Aligned {
    fn new(align: usize, len: usize) -> Option<Aligned> {
        let mut p: *mut libc::c_void = std::ptr::null_mut();
        // SAFETY: align is a power of two multiple of sizeof(void*).
        if unsafe { libc::posix_memalign(&mut p, align, len) } != 0 {
            return None;
        }
        // SAFETY: p points to len writable bytes.
        unsafe { std::ptr::write_bytes(p as *mut u8, 0, len) };
        Some(Aligned {
            ptr: p as *mut u8,
            len,
        })
    }
    fn slice(&self) -> &[u8] {
        // SAFETY: ptr/len describe our allocation.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated by posix_memalign.
        unsafe { libc::free(self.ptr as *mut libc::c_void) }
    }
}

struct Unlink(CString);

impl Drop for Unlink {
    fn drop(&mut self) {
        // SAFETY: a valid path.
        unsafe { libc::unlink(self.0.as_ptr()) };
    }
}

const PROBE_SIZE: usize = 64 * 1024;
const ALIGNMENTS: [usize; 4] = [512, 1024, 2048, 4096];

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) ^ (i >> 9)) as u8
}

/// Tries O_DIRECT in `dir`: creates a 64 KiB file, then reads `A` bytes at
/// offset `A` into a buffer aligned to `A` (and not to `2A`), for each `A`.
fn check_direct(dir: &Path, caps: &mut Caps) {
    let name = dir.join(format!(".aio-shim-doctor.{}.tmp", std::process::id()));
    let Ok(cpath) = CString::new(name.as_os_str().as_bytes()) else {
        out(
            "O_DIRECT",
            "cannot test: the directory name contains a NUL byte",
        );
        return;
    };
    // Write the file through the page cache first: reading it back with
    // O_DIRECT then also checks that the kernel flushes before a direct read.
    // SAFETY: valid path; flags and mode are plain integers.
    let fd = unsafe {
        libc::open(
            cpath.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        out(
            "O_DIRECT",
            format!(
                "cannot test: cannot create a file in {}: {}",
                dir.display(),
                errno_text(last_errno())
            ),
        );
        return;
    }
    let _guard = Unlink(cpath.clone());
    caps.direct_tested = true;
    let data: Vec<u8> = (0..PROBE_SIZE).map(pattern).collect();
    // SAFETY: data is PROBE_SIZE readable bytes.
    let w = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
    // SAFETY: fd is ours.
    unsafe {
        libc::fsync(fd);
        libc::close(fd);
    }
    if w != PROBE_SIZE as isize {
        out(
            "O_DIRECT",
            format!(
                "cannot test: writing the test file failed: {}",
                errno_text(last_errno())
            ),
        );
        return;
    }
    // SAFETY: valid path.
    let fd = unsafe {
        libc::open(
            cpath.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECT | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = last_errno();
        let why = if e == libc::EINVAL {
            " (the filesystem does not support O_DIRECT)"
        } else {
            ""
        };
        out(
            "O_DIRECT",
            format!(
                "NOT supported in {}: open(O_DIRECT) failed with {}{why}",
                dir.display(),
                errno_text(e)
            ),
        );
        return;
    }
    let Some(buf) = Aligned::new(8192, 16384) else {
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        out("O_DIRECT", "cannot test: out of memory");
        return;
    };
    let mut failures = Vec::new();
    for a in ALIGNMENTS {
        // buf.ptr is 8192-aligned, so ptr + a is aligned to a but not to 2a.
        // SAFETY: a + a <= 8192 < 16384 bytes of buffer; offset a + a <= PROBE_SIZE.
        let r =
            unsafe { libc::pread(fd, buf.ptr.add(a) as *mut libc::c_void, a, a as libc::off_t) };
        if r == a as isize {
            let got = &buf.slice()[a..2 * a];
            if got == &data[a..2 * a] {
                caps.direct_align = Some(a);
                break;
            }
            failures.push(format!("{a}: wrong data"));
        } else if r < 0 {
            failures.push(format!("{a}: {}", errno_text(last_errno())));
        } else {
            failures.push(format!("{a}: short read {r}"));
        }
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    match caps.direct_align {
        Some(a) => out(
            "O_DIRECT",
            format!(
                "supported in {}; minimum working alignment {a} bytes (buffer, offset and length)",
                dir.display()
            ),
        ),
        None => out(
            "O_DIRECT",
            format!(
                "open works in {} but no aligned read worked ({}): treat O_DIRECT as unusable here",
                dir.display(),
                failures.join(", ")
            ),
        ),
    }
    if let Some((mem, off)) = statx_dioalign(&cpath) {
        out(
            "O_DIRECT alignment reported by the kernel",
            format!("memory {mem} bytes, offset/length {off} bytes (statx STATX_DIOALIGN)"),
        );
    }
}

/// `statx(STATX_DIOALIGN)` (Linux 6.1+): (memory alignment, offset alignment).
fn statx_dioalign(path: &CStr) -> Option<(u32, u32)> {
    const STATX_DIOALIGN: u32 = 0x2000;
    let mut buf = [0u64; 32]; // struct statx is 256 bytes
                              // SAFETY: buf is 256 writable bytes; path is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            libc::AT_FDCWD,
            path.as_ptr(),
            0 as libc::c_int,
            STATX_DIOALIGN,
            buf.as_mut_ptr(),
        )
    };
    if r != 0 {
        return None;
    }
    let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let u32_at = |o: usize| u32::from_ne_bytes(bytes[o..o + 4].try_into().unwrap());
    let mask = u32_at(0);
    let (mem, off) = (u32_at(152), u32_at(156));
    (mask & STATX_DIOALIGN != 0 && mem != 0).then_some((mem, off))
}

fn check_dir(dir: &Path, caps: &mut Caps) {
    let abs = preload::absolute(dir);
    out("directory", abs.display().to_string());
    let Ok(c) = CString::new(abs.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: st is a plain C struct filled by statfs.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0 {
        let magic = st.f_type as u64 & 0xffff_ffff;
        out(
            "filesystem",
            format!(
                "{} (statfs f_type 0x{magic:x}, block size {})",
                fs_name(magic),
                st.f_bsize
            ),
        );
    } else {
        out(
            "filesystem",
            format!("unknown: statfs failed: {}", errno_text(last_errno())),
        );
        return;
    }
    check_direct(&abs, caps);
}

/// Which backend the shim's automatic routing picks. This mirrors the
/// library's routing rules (src/route.rs): O_DIRECT regular files and block
/// devices go to native kernel AIO, buffered reads/writes try RWF_NOWAIT
/// (page cache) then the pool, everything else (pipes, sockets, ttys,
/// O_APPEND writes, fsync) goes to the worker pool. `AIO_SHIM_BACKEND=pool` sends
/// everything to the pool.
fn routing(caps: &Caps) {
    let setting = std::env::var("AIO_SHIM_BACKEND")
        .ok()
        .filter(|b| !b.is_empty() && b != "auto");
    match setting.as_deref() {
        Some("pool") => {
            out(
                "routing",
                "AIO_SHIM_BACKEND=pool: every request goes to the worker pool",
            );
            return;
        }
        Some(b) => {
            out("routing", format!("AIO_SHIM_BACKEND={b} is set; requests that backend cannot serve follow the rules below"));
            if (b == "kaio" && !caps.kaio) || (b == "uring" && !caps.uring) {
                out(
                    "routing",
                    format!("WARNING: backend {b} is not available on this machine (see above)"),
                );
            }
        }
        None => {}
    }
    let direct = match (caps.direct_align, caps.kaio) {
        (None, _) if !caps.direct_tested => {
            format!(
                "kaio{} (O_DIRECT could not be tested here)",
                if caps.kaio { "" } else { " unavailable: pool" }
            )
        }
        (None, _) => "O_DIRECT does not work here (see above)".to_string(),
        (Some(a), true) => {
            format!("kaio (native kernel AIO; requests must be {a}-byte aligned, as with glibc)")
        }
        (Some(_), false) => "pool (kernel AIO is not available)".to_string(),
    };
    out("routing (auto), O_DIRECT file here", direct);
    out(
        "routing (auto), buffered file here",
        "nowait (RWF_NOWAIT: served at once from the page cache), else pool (worker threads)",
    );
    let ring = if caps.uring { "uring (io_uring" } else { "pool (io_uring unavailable: worker threads" };
    out(
        "routing (auto), pipe or socket",
        format!("{ring}, submission order kept per fd; O_NONBLOCK ones: pool)"),
    );
    out("routing (auto), tty or other character device", "pool (worker threads, submission order kept per fd)");
    out("routing (auto), aio_fsync", format!("{ring}, after the earlier requests on its fd)"));
}

/// The kind of file, as the shim's routing sees it (src/route.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Block,
    Fifo,
    Socket,
    Char,
    Other,
}

pub fn file_kind(mode: u32) -> FileKind {
    match mode & libc::S_IFMT {
        libc::S_IFREG => FileKind::Regular,
        libc::S_IFBLK => FileKind::Block,
        libc::S_IFIFO => FileKind::Fifo,
        libc::S_IFSOCK => FileKind::Socket,
        libc::S_IFCHR => FileKind::Char,
        _ => FileKind::Other,
    }
}

/// What the automatic routing does with `kind` (before any probe of the
/// file itself): the per-kind line of `doctor --file`.
pub fn route_for_kind(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Regular | FileKind::Block => {
            "O_DIRECT: kaio; buffered: nowait (RWF_NOWAIT from the page cache), else pool"
        }
        FileKind::Fifo => "uring (a pipe: io_uring, or the pool if unavailable or O_NONBLOCK; one request at a time in submission order)",
        FileKind::Socket => "uring (a socket: io_uring, or the pool if unavailable or O_NONBLOCK; one request at a time in submission order)",
        FileKind::Char => "pool (a character device such as a tty: worker threads, one request at a time in submission order)",
        FileKind::Other => "pool (not a regular file, block device or stream; reads and writes there usually fail, e.g. EISDIR)",
    }
}

/// Opens `path` read-only with extra `flags`; `Err(errno)`.
fn open_ro(path: &CStr, flags: i32) -> Result<i32, i32> {
    // SAFETY: valid path; flags are plain integers.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY | flags,
        )
    };
    if fd < 0 {
        Err(last_errno())
    } else {
        Ok(fd)
    }
}

/// Tries one O_DIRECT read of `a` bytes at offset 0 into an `a`-aligned
/// buffer, for growing `a`: the smallest that works.
fn direct_read_alignment(fd: i32, size: u64) -> Option<usize> {
    let buf = Aligned::new(8192, 16384)?;
    ALIGNMENTS.into_iter().find(|&a| {
        if (a as u64) > size {
            return false;
        }
        // SAFETY: buf.ptr + a .. + 2a lies within the 16384-byte buffer.
        let r = unsafe { libc::pread(fd, buf.ptr.add(a) as *mut libc::c_void, a, 0) };
        r == a as isize
    })
}

/// `doctor --file PATH`: which backend the shim would choose for requests
/// on PATH, probed read-only (O_DIRECT open and an aligned read,
/// RWF_NOWAIT support). A FIFO is not opened (that could block).
fn check_file(path: &Path, caps: &Caps) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("{}: {}", path.display(), preload::errstr(&e)))?;
    let kind = file_kind(std::os::unix::fs::MetadataExt::mode(&meta));
    out("file", preload::absolute(path).display().to_string());
    let kind_name = match kind {
        FileKind::Regular => "regular file",
        FileKind::Block => "block device",
        FileKind::Fifo => "FIFO (named pipe)",
        FileKind::Socket => "socket",
        FileKind::Char => "character device",
        FileKind::Other => "directory or other",
    };
    out("file type", kind_name);
    let pool_forced = std::env::var("AIO_SHIM_BACKEND").ok().as_deref() == Some("pool");
    if pool_forced {
        out(
            "routing (auto) for this file",
            "pool (AIO_SHIM_BACKEND=pool is set: every request goes to the worker pool)",
        );
        return Ok(());
    }
    if !matches!(kind, FileKind::Regular | FileKind::Block) {
        out("routing (auto) for this file", route_for_kind(kind));
        return Ok(());
    }
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("{}: contains a NUL byte", path.display()))?;
    let size = if kind == FileKind::Block {
        u64::MAX
    } else {
        meta.len()
    };

    // Opened with O_DIRECT: kernel AIO if the open works and io_setup does.
    let direct = match open_ro(&c, libc::O_DIRECT) {
        Ok(fd) => {
            let align = direct_read_alignment(fd, size);
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
            let align_text = match (statx_dioalign(&c), align) {
                (Some((mem, off)), _) => format!("memory alignment {mem}, offset/length alignment {off} bytes, per statx"),
                (None, Some(a)) => format!("a {a}-byte aligned read works"),
                (None, None) if size < 512 => "file too small to test an aligned read".into(),
                (None, None) => "no aligned read of 512..4096 bytes worked: treat O_DIRECT as unusable".into(),
            };
            if caps.kaio {
                format!("kaio (native kernel AIO; {align_text})")
            } else {
                format!("pool (kernel AIO is not available, see above; {align_text})")
            }
        }
        Err(libc::EINVAL) => {
            "impossible: open(O_DIRECT) fails with EINVAL (the filesystem does not support O_DIRECT)".into()
        }
        Err(e) => format!(
            "{} (not tested: open(O_RDONLY|O_DIRECT) failed here with {})",
            if caps.kaio { "kaio" } else { "pool" },
            errno_text(e)
        ),
    };
    out("routing (auto), opened with O_DIRECT", direct);

    // Opened without O_DIRECT: RWF_NOWAIT from the page cache, else the pool.
    let buffered = match open_ro(&c, 0) {
        Ok(fd) => {
            let mut b = [0u8; 1];
            let iov = libc::iovec {
                iov_base: b.as_mut_ptr() as *mut libc::c_void,
                iov_len: 1,
            };
            // SAFETY: one valid iovec of 1 byte.
            let r = unsafe { libc::preadv2(fd, &iov, 1, 0, libc::RWF_NOWAIT) };
            let e = last_errno();
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
            if r >= 0 || e == libc::EAGAIN {
                "nowait (RWF_NOWAIT: served at once when the page cache has the data), else pool (worker threads)".to_string()
            } else if e == libc::EOPNOTSUPP || e == libc::EINVAL {
                format!(
                    "pool (RWF_NOWAIT is not supported here: preadv2 failed with {})",
                    errno_text(e)
                )
            } else {
                format!(
                    "nowait, else pool (the RWF_NOWAIT probe failed with {})",
                    errno_text(e)
                )
            }
        }
        Err(e) => format!(
            "nowait, else pool (not tested: open(O_RDONLY) failed here with {})",
            errno_text(e)
        ),
    };
    out("routing (auto), opened without O_DIRECT", buffered);
    out(
        "routing (auto), O_APPEND writes and aio_fsync",
        "pool (one at a time, after the earlier requests on the fd)",
    );
    Ok(())
}

fn check_library(opt: Option<&OsStr>) {
    let (lib, src) = match preload::locate_library_here(opt) {
        Ok(l) => l,
        Err(e) => {
            out("library", format!("NOT found: {e}"));
            return;
        }
    };
    out("library", format!("{} ({})", lib.display(), src.describe()));
    if let Err(e) = preload::check_preloadable_path(&lib) {
        out("library", format!("WARNING: {e}"));
    }
    match preload::check_engine(&lib) {
        Ok(e) => out("engine", format!("{} (loaded at a process's first AIO call)", e.display())),
        Err(e) => out("engine", format!("NOT found: {e}; AIO calls would go to glibc")),
    }
    let data = match std::fs::read(&lib) {
        Ok(d) => d,
        Err(e) => {
            out(
                "library",
                format!("cannot read it: {}", preload::errstr(&e)),
            );
            return;
        }
    };
    match elf::dynamic_info(&data) {
        Ok(info) => {
            let exported: Vec<&str> = AIO_SYMBOLS
                .iter()
                .copied()
                .filter(|n| info.symbols.iter().any(|s| s.defined && s.name == *n))
                .collect();
            let missing: Vec<&str> = AIO_SYMBOLS
                .iter()
                .copied()
                .filter(|n| !exported.contains(n))
                .collect();
            let extra = if missing.is_empty() {
                String::new()
            } else {
                format!("; missing: {}", missing.join(" "))
            };
            out(
                "library exports",
                format!(
                    "{} of {} POSIX AIO functions{extra}",
                    exported.len(),
                    AIO_SYMBOLS.len()
                ),
            );
            let lio: Vec<String> = info
                .symbols
                .iter()
                .filter(|s| s.defined && s.name == "lio_listio")
                .map(|s| s.display())
                .collect();
            if !lio.is_empty() {
                out("library lio_listio versions", lio.join(" "));
            }
        }
        Err(e) => out("library exports", format!("cannot read its symbols: {e}")),
    }
}

fn check_binary(name: &OsStr) -> Result<(), String> {
    let prog = match preload::resolve_command(name, std::env::var_os("PATH").as_deref()) {
        Resolved::Found(p) => p,
        Resolved::NotExecutable(p, why) => {
            out("binary", format!("{} (NOT executable: {why})", p.display()));
            p
        }
        Resolved::NotFound => return Err(format!("{}: not found", name.to_string_lossy())),
    };
    let mut cur: PathBuf = prog.clone();
    out("binary", cur.display().to_string());
    // Follow #! scripts to the interpreter, as the kernel does.
    for _ in 0..4 {
        match elf::inspect_exec(&cur) {
            Ok(ExecKind::Script { interp }) => {
                out(
                    "binary",
                    format!(
                        "{} is a #! script; its interpreter {} is what runs",
                        cur.display(),
                        interp
                    ),
                );
                cur = PathBuf::from(interp);
            }
            Ok(_) => break,
            Err(e) => return Err(format!("cannot read {}: {e}", cur.display())),
        }
    }
    let data = std::fs::read(&cur)
        .map_err(|e| format!("cannot read {}: {}", cur.display(), preload::errstr(&e)))?;
    let info = match elf::elf_info(&data) {
        Ok(i) => i,
        Err(e) => {
            out("binary format", format!("not an ELF program ({e})"));
            return Ok(());
        }
    };
    let dy = elf::dynamic_info(&data);
    let kind = match (info.e_type, &dy) {
        (elf::ET_EXEC, _) => "executable",
        (elf::ET_DYN, Ok(d)) if d.pie || info.interp.is_some() => "position-independent executable",
        (elf::ET_DYN, _) => "shared object",
        _ => "other ELF file",
    };
    out(
        "binary format",
        format!("ELF {} {kind}", info.describe_machine()),
    );
    out("binary linkage", info.linkage());
    let mode = std::fs::metadata(&cur)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    out(
        "binary set-ID",
        match preload::setid_kind(mode) {
            Some(k) => format!("{k} (the dynamic linker ignores LD_PRELOAD for it)"),
            None => "no".into(),
        },
    );
    match &dy {
        Ok(d) => {
            if !d.needed.is_empty() {
                out("binary needs", d.needed.join(" "));
            }
            let mut imports: Vec<&elf::DynSym> = d
                .symbols
                .iter()
                .filter(|s| !s.defined && AIO_SYMBOLS.contains(&s.name.as_str()))
                .collect();
            imports.sort_by(|a, b| a.name.cmp(&b.name));
            if imports.is_empty() {
                out(
                    "binary imports",
                    "no POSIX AIO symbols (the shim has nothing to replace, unless a library it loads calls them)",
                );
            }
            for s in imports {
                let from = s
                    .from_file
                    .as_deref()
                    .map(|f| format!(" from {f}"))
                    .unwrap_or_default();
                let note = match (s.name.as_str(), s.version.as_deref()) {
                    ("lio_listio" | "lio_listio64", Some("GLIBC_2.2.5")) => {
                        " (pre-glibc-2.4 lio_listio semantics: no per-request events)"
                    }
                    _ => "",
                };
                out("binary imports", format!("{}{from}{note}", s.display()));
            }
            let defines: Vec<&str> = d
                .symbols
                .iter()
                .filter(|s| s.defined && AIO_SYMBOLS.contains(&s.name.as_str()))
                .map(|s| s.name.as_str())
                .collect();
            if !defines.is_empty() {
                out(
                    "binary defines",
                    format!(
                        "its own {} (these calls may not reach the shim)",
                        defines.join(" ")
                    ),
                );
            }
        }
        Err(e) => out(
            "binary imports",
            format!("cannot list its dynamic symbols: {e}"),
        ),
    }
    let lib_info =
        preload::locate_library_here(None)
            .ok()
            .and_then(|(p, _)| match elf::inspect_exec(&p) {
                Ok(ExecKind::Elf(i)) => Some(i),
                _ => None,
            });
    let verdict = match preload::preflight(&prog, lib_info.as_ref()) {
        Ok(()) => "aio-shim can run it with the shim preloaded".to_string(),
        Err(Refusal::Unreadable(e)) => format!("cannot tell ({e})"),
        Err(r) => format!("aio-shim would refuse it: {}", r.message(&prog)),
    };
    out("verdict", verdict);
    Ok(())
}

fn check_env() {
    let mut set: Vec<String> = std::env::vars_os()
        .filter(|(k, _)| k.as_bytes().starts_with(b"AIO_SHIM_"))
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    set.sort();
    if !set.is_empty() {
        out("environment", set.join(" "));
    }
    if let Some(p) = std::env::var_os("LD_PRELOAD").filter(|p| !p.is_empty()) {
        out("environment", format!("LD_PRELOAD={}", p.to_string_lossy()));
    }
}

pub fn main(args: &[OsString]) -> i32 {
    let o = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            error(SUB, &e);
            eprintln!("Try 'aio-shim doctor --help' for more information.");
            return 2;
        }
    };
    // A BINARY or PATH that does not exist: say so before the report.
    if let Some(f) = &o.file {
        if let Err(e) = std::fs::metadata(f) {
            error(
                SUB,
                &format!("{}: {}", f.to_string_lossy(), preload::errstr(&e)),
            );
            return 1;
        }
    }
    if let Some(b) = &o.binary {
        if let Resolved::NotFound = preload::resolve_command(b, std::env::var_os("PATH").as_deref())
        {
            error(SUB, &format!("{}: not found", b.to_string_lossy()));
            return 1;
        }
    }
    out("aio-shim", env!("CARGO_PKG_VERSION"));
    // SAFETY: uname fills a plain C struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    if unsafe { libc::uname(&mut u) } == 0 {
        // SAFETY: uname NUL-terminates its fields.
        let f = |s: &[libc::c_char]| {
            unsafe { CStr::from_ptr(s.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        };
        out(
            "kernel",
            format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine)),
        );
    }
    // SAFETY: returns a static string.
    let glibc = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) }
        .to_string_lossy()
        .into_owned();
    out("glibc", glibc);
    check_library(o.lib.as_deref());
    check_env();
    let mut caps = Caps::default();
    check_kaio(&mut caps);
    check_uring(&mut caps);
    let dir = o.dir.clone().unwrap_or_else(|| ".".into());
    let dir = Path::new(&dir);
    if dir.is_dir() {
        check_dir(dir, &mut caps);
        routing(&caps);
    } else {
        out(
            "directory",
            format!("{}: not a directory; O_DIRECT not tested", dir.display()),
        );
    }
    if let Some(f) = &o.file {
        if let Err(e) = check_file(Path::new(f), &caps) {
            error(SUB, &e);
            return 1;
        }
    }
    if let Some(b) = &o.binary {
        if let Err(e) = check_binary(b) {
            error(SUB, &e);
            return 1;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn parse_forms() {
        assert_eq!(parse(&v(&[])).unwrap(), Some(DoctorOptions::default()));
        let o = parse(&v(&["--dir", "/tmp", "fio"])).unwrap().unwrap();
        assert_eq!(o.dir, Some("/tmp".into()));
        assert_eq!(o.binary, Some("fio".into()));
        let o = parse(&v(&["fio", "--dir=/x"])).unwrap().unwrap();
        assert_eq!((o.dir, o.binary), (Some("/x".into()), Some("fio".into())));
        let o = parse(&v(&["--", "--odd-name"])).unwrap().unwrap();
        assert_eq!(o.binary, Some("--odd-name".into()));
        assert_eq!(parse(&v(&["-h"])).unwrap(), None);
        assert!(parse(&v(&["a", "b"])).is_err());
        assert!(parse(&v(&["--bogus"])).is_err());
        assert!(parse(&v(&["--dir"])).is_err());
        let o = parse(&v(&["--file", "/dev/null", "--file=/x"]))
            .unwrap()
            .unwrap();
        assert_eq!(o.file, Some("/x".into()));
        assert!(parse(&v(&["--file"])).is_err());
    }

    #[test]
    fn kinds_and_routes() {
        assert_eq!(file_kind(libc::S_IFREG | 0o644), FileKind::Regular);
        assert_eq!(file_kind(libc::S_IFBLK | 0o660), FileKind::Block);
        assert_eq!(file_kind(libc::S_IFIFO | 0o600), FileKind::Fifo);
        assert_eq!(file_kind(libc::S_IFSOCK | 0o600), FileKind::Socket);
        assert_eq!(file_kind(libc::S_IFCHR | 0o620), FileKind::Char);
        assert_eq!(file_kind(libc::S_IFDIR | 0o755), FileKind::Other);
        assert!(route_for_kind(FileKind::Regular).starts_with("O_DIRECT: kaio"));
        for k in [FileKind::Fifo, FileKind::Socket] {
            assert!(route_for_kind(k).starts_with("uring"), "{k:?}");
        }
        for k in [FileKind::Char, FileKind::Other] {
            assert!(route_for_kind(k).starts_with("pool"), "{k:?}");
        }
    }

    #[test]
    fn uring_reasons() {
        let r = |e, d, s| uring_failure_reason(e, d, s);
        assert!(r(libc::EPERM, Some("2"), Some(0)).contains("io_uring_disabled=2"));
        assert!(r(libc::EPERM, Some("1"), Some(0)).contains("io_uring_disabled=1"));
        assert!(r(libc::EPERM, Some("0"), Some(2)).contains("seccomp"));
        assert!(r(libc::EPERM, None, Some(2)).contains("seccomp"));
        assert!(r(libc::ENOSYS, None, Some(0)).contains("CONFIG_IO_URING"));
        assert!(r(libc::ENOSYS, None, Some(2)).contains("seccomp"));
        assert_eq!(r(libc::ENOMEM, None, None), "");
    }

    #[test]
    fn fs_names() {
        assert_eq!(fs_name(0xEF53), "ext2/ext3/ext4");
        assert_eq!(fs_name(0x01021994), "tmpfs");
        assert_eq!(fs_name(0x794c7630), "overlay");
        assert_eq!(fs_name(0x58465342), "xfs");
        assert_eq!(fs_name(0x9123683E), "btrfs");
        assert_eq!(fs_name(0x6969), "nfs");
        assert_eq!(fs_name(0x65735546), "fuse");
        assert_eq!(fs_name(1), "unknown");
    }
}
