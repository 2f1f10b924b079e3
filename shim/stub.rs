//! libaio_shim.so, the library users preload: a 22 KB stub that exports
//! glibc's POSIX AIO names and versions and loads the engine
//! (libaio_shim_engine.so, shim/src/lib.rs) at the first AIO call.
//!
//! Why a stub: `LD_PRELOAD` is inherited by every child of a shell, and most
//! of them never call AIO. Preloading the engine itself (Rust std, 0.6 MB,
//! plus libgcc_s for unwinding) cost every such process ~190 µs per exec
//! (1.31x for `/bin/true` on the project's VM); this `no_std`, no-panic,
//! dependency-free stub costs what any one-function library costs.
//!
//! How a call goes:
//! * Each export is an assembly trampoline: load its entry from `ENTRY`; if
//!   set, `jmp` to it. No stub frame stays on the stack, so the engine's
//!   `aio_suspend` can be cancelled (forced unwinding) through it, and the
//!   cost is one load and one indirect jump.
//! * Entry unset, for the calls that may submit or change state (aio_read,
//!   aio_write, aio_fsync, aio_cancel, lio_listio, aio_init): go through
//!   `aio_shim_load_slow`, which calls `load` (it fills every entry once,
//!   under `pthread_once`), then jumps.
//! * Entry unset, for aio_error, aio_return and aio_suspend: these are
//!   async-signal-safe and must not `dlopen`. No engine means nothing was
//!   ever submitted through us in this process, so they answer as glibc and
//!   the engine answer for an aiocb they never saw (`nolib_*` below).
//! * The engine cannot be loaded (missing, wrong ABI): every entry is filled
//!   with glibc's own function (`dlsym(RTLD_NEXT)`), so the program still
//!   works, on glibc's AIO; with `AIO_SHIM_LOG` set, one line on stderr says
//!   so.
//!
//! * `setrlimit`, `setrlimit64`, `prlimit` and `prlimit64` are exported too:
//!   plain Rust functions that make the same system call as glibc's and
//!   count the calls that set RLIMIT_FSIZE (`FSIZE_GEN`, handed to the engine when it loads), so
//!   that the engine need not ask the kernel for the limit before every
//!   write (below, "RLIMIT_FSIZE changes").
//!
//! Where the engine is: `AIO_SHIM_ENGINE` if set (ignored in secure-execution
//! mode, like every `AIO_SHIM_*` setting), else `libaio_shim_engine.so` in
//! this library's own directory (`dladdr1`, `dlinfo`).
//!
//! State: `ENTRY` (written only inside `pthread_once`, Release; read by the
//! trampolines; x86-64 loads are Acquire) and `ONCE`; `FSIZE_GEN`, an
//! atomic.
//!
//! Built by shim/build.rs with `rustc -C panic=abort` (a `no_std` cdylib
//! cannot use the workspace's `panic = "unwind"`); exports get their version
//! nodes from aio_shim.map and the `.symver` lines below.
#![no_std]
#![allow(clippy::missing_safety_doc)]

use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

include!("table.rs");

#[cfg(not(target_arch = "x86_64"))]
compile_error!("the stub's trampolines are x86-64 assembly");

static ENTRY: [AtomicUsize; ENTRIES] = [const { AtomicUsize::new(0) }; ENTRIES];

#[repr(C)]
struct DlInfo {
    dli_fname: *const c_char,
    dli_fbase: *mut c_void,
    dli_sname: *const c_char,
    dli_saddr: *mut c_void,
}

const RTLD_NOW: c_int = 2;
const RTLD_NEXT: *mut c_void = -1isize as *mut c_void;
const RTLD_DL_LINKMAP: c_int = 2;
const RTLD_DI_ORIGIN: c_int = 6;
const EINVAL: c_int = 22;
const ENOSYS: c_int = 38;

#[link(name = "c")]
extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlvsym(handle: *mut c_void, name: *const c_char, version: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
    fn dladdr1(addr: *const c_void, info: *mut DlInfo, extra: *mut *mut c_void, flags: c_int) -> c_int;
    fn dlinfo(handle: *mut c_void, request: c_int, arg: *mut c_void) -> c_int;
    fn secure_getenv(name: *const c_char) -> *const c_char;
    fn pthread_once(once: *mut c_int, init: extern "C" fn()) -> c_int;
    fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
    fn syscall(n: i64, ...) -> i64;
    fn __errno_location() -> *mut c_int;
}

// ---- engine-less answers (async-signal-safe: loads only) -------------------

unsafe fn fail(e: c_int) -> c_int {
    *__errno_location() = e;
    -1
}

unsafe extern "C" fn nolib_error(cb: *const u8) -> c_int {
    if cb.is_null() {
        return fail(EINVAL);
    }
    core::ptr::read_volatile(cb.add(AIOCB_ERROR_CODE_AT).cast::<c_int>())
}

unsafe extern "C" fn nolib_return(cb: *const u8) -> isize {
    if cb.is_null() {
        return fail(EINVAL) as isize;
    }
    core::ptr::read_volatile(cb.add(AIOCB_RETURN_VALUE_AT).cast::<isize>())
}

/// No request of ours is in flight, so glibc's rule (return at once when an
/// entry is finished or unknown, or all are NULL) returns at once.
unsafe extern "C" fn nolib_suspend(_list: *const *const u8, nent: c_int, _timeout: *const c_void) -> c_int {
    if nent < 0 {
        return fail(EINVAL);
    }
    0
}

unsafe extern "C" fn enosys() -> c_int {
    fail(ENOSYS)
}

// ---- loading ---------------------------------------------------------------

static mut ONCE: c_int = 0; // PTHREAD_ONCE_INIT

/// Called by a trampoline whose entry is unset; returns with every entry set.
extern "C" fn load() {
    // SAFETY: ONCE is only ever used through pthread_once.
    unsafe { pthread_once(core::ptr::addr_of_mut!(ONCE), load_once) };
}

extern "C" fn load_once() {
    let mut buf = [0u8; 4096];
    // SAFETY: C strings from the loader and the environment, a local buffer.
    unsafe {
        let path = engine_path(&mut buf);
        if let Some(t) = open_engine(path) {
            for (i, e) in ENTRY.iter().enumerate() {
                e.store((*t).entries[i] as usize, Ordering::Release);
            }
            return;
        }
        let why = dlerror();
        if logging() {
            say(&[
                b"aio_shim: cannot use the engine ",
                bytes(path),
                b": ",
                if why.is_null() { b"wrong ABI version" } else { bytes(why) },
                b"; POSIX AIO calls go to glibc\n",
            ]);
        }
        let names: [(&CStr, Option<&CStr>); ENTRIES] = [
            (c"aio_read", None),
            (c"aio_write", None),
            (c"aio_fsync", None),
            (c"aio_error", None),
            (c"aio_return", None),
            (c"aio_suspend", None),
            (c"aio_cancel", None),
            (c"lio_listio", None),
            (c"lio_listio", Some(c"GLIBC_2.2.5")),
            (c"aio_init", None),
        ];
        for (i, (name, ver)) in names.iter().enumerate() {
            let f = match ver {
                None => dlsym(RTLD_NEXT, name.as_ptr()),
                Some(v) => dlvsym(RTLD_NEXT, name.as_ptr(), v.as_ptr()),
            };
            let f = if f.is_null() { enosys as *const () as usize } else { f as usize };
            ENTRY[i].store(f, Ordering::Release);
        }
    }
}

unsafe fn open_engine(path: *const c_char) -> Option<*const EngineTable> {
    let h = dlopen(path, RTLD_NOW);
    if h.is_null() {
        return None;
    }
    let f = dlsym(h, ENGINE_SYMBOL.as_ptr());
    if f.is_null() {
        return None;
    }
    let f: extern "C" fn() -> *const EngineTable = core::mem::transmute(f);
    let t = f();
    if t.is_null() || (*t).abi != ENGINE_ABI || (*t).size as usize != core::mem::size_of::<EngineTable>() {
        dlerror(); // clear: the message then says "wrong ABI version"
        return None;
    }
    if (*t).entries.iter().any(|e| e.is_null()) || (*t).attach.is_null() {
        dlerror();
        return None;
    }
    let attach: extern "C" fn(*const AtomicU32) = core::mem::transmute((*t).attach);
    attach(&FSIZE_GEN);
    Some(t)
}

// ---- RLIMIT_FSIZE changes --------------------------------------------------
//
// The engine must not `io_submit` a write at or past RLIMIT_FSIZE (the
// kernel would send SIGXFSZ to the calling thread, where glibc's helper
// thread, all signals blocked, only sees EFBIG). Asking the kernel for the
// limit before every write cost a syscall per write (6% of O_DIRECT write
// IOPS on the project's VM), so the engine caches it, keyed by this count,
// which the four functions below bump after every call that sets
// RLIMIT_FSIZE: a program's own change is seen by its next write. (A change
// made by another process, `prlimit --pid`, has no order with our writes;
// the engine re-reads the limit at least every 16 ms for those.)

static FSIZE_GEN: AtomicU32 = AtomicU32::new(0);
const RLIMIT_FSIZE: c_int = 1;
const SYS_PRLIMIT64: i64 = 302;

/// glibc's x86-64 `setrlimit`, `setrlimit64`, `prlimit` and `prlimit64` are
/// each this one system call (rlim_t is 64-bit): made here directly, not by
/// looking glibc's up, so that nothing in them touches the dynamic loader
/// (programs call setrlimit between fork and exec). Async-signal-safe.
unsafe fn prlimit_counted(pid: c_int, res: c_int, new: *const c_void, old: *mut c_void) -> c_int {
    let r = syscall(SYS_PRLIMIT64, pid as i64, res as i64, new, old) as c_int;
    if res == RLIMIT_FSIZE && !new.is_null() {
        FSIZE_GEN.fetch_add(1, Ordering::SeqCst);
    }
    r
}

/// `export_fn!(name, function, "VERSION")`: `name@@VERSION` is `function`.
macro_rules! export_fn {
    ($name:literal, $f:path, $ver:literal) => {
        core::arch::global_asm!(
            concat!(".globl __aio_shim_", $name, "_default"),
            concat!(".type __aio_shim_", $name, "_default, @function"),
            concat!(".set __aio_shim_", $name, "_default, {f}"),
            concat!(".symver __aio_shim_", $name, "_default, ", $name, "@@", $ver),
            f = sym $f,
        );
    };
}

export_fn!("setrlimit", rl_setrlimit, "GLIBC_2.2.5");
export_fn!("setrlimit64", rl_setrlimit, "GLIBC_2.2.5");
export_fn!("prlimit", rl_prlimit, "GLIBC_2.13");
export_fn!("prlimit64", rl_prlimit, "GLIBC_2.13");

unsafe extern "C" fn rl_setrlimit(res: c_int, rl: *const c_void) -> c_int {
    prlimit_counted(0, res, rl, core::ptr::null_mut())
}

unsafe extern "C" fn rl_prlimit(pid: c_int, res: c_int, new: *const c_void, old: *mut c_void) -> c_int {
    prlimit_counted(pid, res, new, old)
}

const ENGINE_NAME: &[u8] = b"libaio_shim_engine.so";

/// `AIO_SHIM_ENGINE`, else `libaio_shim_engine.so` beside this library.
///
/// The directory: that of the path the loader opened this library by; if
/// that path was relative (`LD_PRELOAD=./libaio_shim.so`), the loader's
/// `$ORIGIN` for it, which it made absolute against the working directory at
/// start-up (the program may have moved since).
unsafe fn engine_path(buf: &mut [u8; 4096]) -> *const c_char {
    let env = secure_getenv(c"AIO_SHIM_ENGINE".as_ptr());
    if !env.is_null() && *env != 0 {
        return env;
    }
    let mut info: DlInfo = core::mem::zeroed();
    let mut map: *mut c_void = core::ptr::null_mut();
    // dir_len: bytes of buf holding the directory, with its final '/'.
    let mut dir_len = 0;
    if dladdr1(load as *const c_void, &mut info, &mut map, RTLD_DL_LINKMAP) != 0 && !info.dli_fname.is_null() {
        let me = bytes(info.dli_fname);
        if me.first() == Some(&b'/') {
            let slash = me.iter().rposition(|&c| c == b'/').unwrap_or(0);
            if slash + 1 < buf.len() {
                buf[..=slash].copy_from_slice(&me[..=slash]);
                dir_len = slash + 1;
            }
        } else if !map.is_null() && dlinfo(map, RTLD_DI_ORIGIN, buf.as_mut_ptr().cast()) == 0 {
            // A link map pointer is a handle; glibc copies l_origin (no
            // final '/') into a PATH_MAX (4096) buffer.
            let n = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
            if n > 0 && n + 1 < buf.len() {
                buf[n] = b'/';
                dir_len = n + 1;
            }
        }
    }
    if dir_len + ENGINE_NAME.len() + 1 > buf.len() {
        dir_len = 0;
    }
    buf[dir_len..dir_len + ENGINE_NAME.len()].copy_from_slice(ENGINE_NAME);
    buf[dir_len + ENGINE_NAME.len()] = 0;
    buf.as_ptr().cast()
}

unsafe fn bytes<'a>(s: *const c_char) -> &'a [u8] {
    CStr::from_ptr(s).to_bytes()
}

/// `AIO_SHIM_LOG` set to anything but "" or "off" (as the engine reads it).
unsafe fn logging() -> bool {
    let v = secure_getenv(c"AIO_SHIM_LOG".as_ptr());
    !v.is_null() && !matches!(bytes(v), b"" | b"off")
}

/// One line, one write(2).
unsafe fn say(parts: &[&[u8]]) {
    let mut line = [0u8; 1024];
    let mut n = 0;
    for p in parts {
        let k = p.len().min(line.len() - 1 - n);
        line[n..n + k].copy_from_slice(&p[..k]);
        n += k;
    }
    if n > 0 && line[n - 1] != b'\n' {
        line[n] = b'\n';
        n += 1;
    }
    write(2, line.as_ptr().cast(), n);
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Nothing in this file can panic (no indexing out of range, no
    // unwrap); were it to, stop the process rather than unwind into C.
    extern "C" {
        fn abort() -> !;
    }
    unsafe { abort() }
}

// core is prebuilt with panic=unwind, so its objects name a personality
// routine; nothing here unwinds (panic=abort). This one, hidden (not
// exported), says "no handler here, keep unwinding" (_URC_CONTINUE_UNWIND).
core::arch::global_asm!(
    ".globl rust_eh_personality",
    ".hidden rust_eh_personality",
    ".type rust_eh_personality, @function",
    "rust_eh_personality:",
    "mov eax, 8",
    "ret",
    ".size rust_eh_personality, . - rust_eh_personality",
);

// ---- the trampolines --------------------------------------------------------

// Where a trampoline goes when its entry is unset and it may load the
// engine: keep the four argument registers and r11 (the entry's offset in
// ENTRY), call `load`, then jump to the entry it filled. Hidden: not
// exported. Five pushes over the return address leave the stack 16-aligned
// for the call.
core::arch::global_asm!(
    ".p2align 4",
    ".globl aio_shim_load_slow",
    ".hidden aio_shim_load_slow",
    ".type aio_shim_load_slow, @function",
    "aio_shim_load_slow:",
    ".cfi_startproc",
    "push rdi",
    ".cfi_adjust_cfa_offset 8",
    "push rsi",
    ".cfi_adjust_cfa_offset 8",
    "push rdx",
    ".cfi_adjust_cfa_offset 8",
    "push rcx",
    ".cfi_adjust_cfa_offset 8",
    "push r11",
    ".cfi_adjust_cfa_offset 8",
    "call {load}",
    "pop r11",
    ".cfi_adjust_cfa_offset -8",
    "pop rcx",
    ".cfi_adjust_cfa_offset -8",
    "pop rdx",
    ".cfi_adjust_cfa_offset -8",
    "pop rsi",
    ".cfi_adjust_cfa_offset -8",
    "pop rdi",
    ".cfi_adjust_cfa_offset -8",
    "lea rax, [rip + {entry}]",
    "mov rax, qword ptr [rax + r11]",
    "jmp rax",
    ".cfi_endproc",
    ".size aio_shim_load_slow, . - aio_shim_load_slow",
    entry = sym ENTRY,
    load = sym load,
);

extern "C" {
    /// The assembly above (not callable from Rust: it jumps, with r11 set).
    fn aio_shim_load_slow();
}

/// `trampoline!(label, entry, slow)`: jump to the entry if it is set, else
/// to `slow` with the arguments untouched: `aio_shim_load_slow` (load the
/// engine, then jump to the entry), or for the async-signal-safe three a
/// `nolib_*` function (answer without the engine, never load it).
macro_rules! trampoline {
    ($label:literal, $entry:expr, $slow:path) => {
        core::arch::global_asm!(
            ".p2align 4",
            concat!(".type ", $label, ", @function"),
            concat!($label, ":"),
            ".cfi_startproc",
            "mov rax, qword ptr [rip + {entry} + {off}]",
            "mov r11d, {off}",
            "test rax, rax",
            "jz {slow}",
            "jmp rax",
            ".cfi_endproc",
            concat!(".size ", $label, ", . - ", $label),
            entry = sym ENTRY,
            off = const $entry * 8,
            slow = sym $slow,
        );
    };
}

trampoline!("aio_shim_t_read", E_READ, aio_shim_load_slow);
trampoline!("aio_shim_t_write", E_WRITE, aio_shim_load_slow);
trampoline!("aio_shim_t_fsync", E_FSYNC, aio_shim_load_slow);
trampoline!("aio_shim_t_error", E_ERROR, nolib_error);
trampoline!("aio_shim_t_return", E_RETURN, nolib_return);
trampoline!("aio_shim_t_suspend", E_SUSPEND, nolib_suspend);
trampoline!("aio_shim_t_cancel", E_CANCEL, aio_shim_load_slow);
trampoline!("aio_shim_t_lio_listio", E_LIO_LISTIO, aio_shim_load_slow);
trampoline!("aio_shim_t_lio_listio_old", E_LIO_LISTIO_OLD, aio_shim_load_slow);
trampoline!("aio_shim_t_init", E_INIT, aio_shim_load_slow);

/// `export!(name => trampoline, "VERSION" ...)`: an alias of the trampoline
/// per version, bound with `.symver` (the first version is the default,
/// `@@`). Every reference a binary can make (`aio_read@GLIBC_2.2.5` from old
/// binaries, `@GLIBC_2.34` from new ones, unversioned from `dlsym`) resolves
/// here; `lio_listio@GLIBC_2.2.5` gets the old semantics.
macro_rules! export {
    ($name:literal => $t:literal, $default:literal $(, $old:literal)*) => {
        core::arch::global_asm!(
            concat!(".globl __aio_shim_", $name, "_default"),
            concat!(".type __aio_shim_", $name, "_default, @function"),
            concat!(".set __aio_shim_", $name, "_default, ", $t),
            concat!(".symver __aio_shim_", $name, "_default, ", $name, "@@", $default),
            $(
                concat!(".globl __aio_shim_", $name, "_", $old),
                concat!(".type __aio_shim_", $name, "_", $old, ", @function"),
                concat!(".set __aio_shim_", $name, "_", $old, ", ", $t),
                concat!(".symver __aio_shim_", $name, "_", $old, ", ", $name, "@", $old),
            )*
        );
    };
    // Only a non-default version, under another trampoline.
    ($name:literal => $t:literal, only $old:literal) => {
        core::arch::global_asm!(
            concat!(".globl __aio_shim_", $name, "_old"),
            concat!(".type __aio_shim_", $name, "_old, @function"),
            concat!(".set __aio_shim_", $name, "_old, ", $t),
            concat!(".symver __aio_shim_", $name, "_old, ", $name, "@", $old),
        );
    };
}

export!("aio_read" => "aio_shim_t_read", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_read64" => "aio_shim_t_read", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_write" => "aio_shim_t_write", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_write64" => "aio_shim_t_write", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_fsync" => "aio_shim_t_fsync", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_fsync64" => "aio_shim_t_fsync", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_error" => "aio_shim_t_error", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_error64" => "aio_shim_t_error", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_return" => "aio_shim_t_return", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_return64" => "aio_shim_t_return", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_suspend" => "aio_shim_t_suspend", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_suspend64" => "aio_shim_t_suspend", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_cancel" => "aio_shim_t_cancel", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_cancel64" => "aio_shim_t_cancel", "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_init" => "aio_shim_t_init", "GLIBC_2.34", "GLIBC_2.2.5");
export!("lio_listio" => "aio_shim_t_lio_listio", "GLIBC_2.34", "GLIBC_2.4");
export!("lio_listio64" => "aio_shim_t_lio_listio", "GLIBC_2.34", "GLIBC_2.4");

// The pre-2.4 lio_listio, with its own semantics: a non-default version only.
export!("lio_listio" => "aio_shim_t_lio_listio_old", only "GLIBC_2.2.5");
export!("lio_listio64" => "aio_shim_t_lio_listio_old", only "GLIBC_2.2.5");
