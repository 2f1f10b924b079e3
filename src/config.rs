//! Settings: the `AIO_SHIM_*` environment (read once, with `secure_getenv`,
//! so a setuid/setgid program ignores all of them) and `aio_init`.
//!
//! `Config` is read the first time anything asks for it and never changes
//! afterwards, except for the pool knobs that `aio_init` may tune (atomics).
use crate::log;
use std::ffi::CStr;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Auto,
    Kaio,
    Uring,
    Pool,
}

#[derive(Debug)]
pub enum StatsTo {
    Off,
    Stderr,
    File(std::ffi::CString),
}

#[derive(Debug)]
pub struct Config {
    pub backend: Backend,
    pub maxevents: Option<u32>,
    pub threads: Option<u32>,
    pub stats: StatsTo,
    pub direct: bool,
    /// Microseconds the kernel AIO reaper and `aio_suspend` poll for a
    /// completion before they sleep (saves a wake-up per completion).
    pub spin_us: u32,
}

/// Default of `AIO_SHIM_SPIN_US`.
pub const SPIN_US_DEFAULT: u32 = 20;

/// glibc's defaults: 20 threads, idle time 1 s; aio_num 64 (we size the
/// kernel ring from it only when the user called aio_init).
static POOL_THREADS: AtomicU32 = AtomicU32::new(0);
static AIO_NUM: AtomicU32 = AtomicU32::new(0);
static IDLE_TIME: AtomicI32 = AtomicI32::new(1);

pub const DEFAULT_THREADS: u32 = 20;
pub const DEFAULT_MAXEVENTS: u32 = 1024;

extern "C" {
    fn secure_getenv(name: *const libc::c_char) -> *mut libc::c_char;
}

fn env(name: &CStr) -> Option<String> {
    // SAFETY: secure_getenv returns NULL or a NUL-terminated string.
    let p = unsafe { secure_getenv(name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn parse_count(name: &str, v: Option<String>, max: u32) -> Option<u32> {
    let v = v?;
    match v.trim().parse::<u32>() {
        Ok(n) if n >= 1 && n <= max => Some(n),
        _ => {
            log::warn(format_args!("{name}={v:?} is not a number in 1..={max}; using the default"));
            None
        }
    }
}

fn load() -> Config {
    let backend = match env(c"AIO_SHIM_BACKEND").as_deref() {
        None | Some("") | Some("auto") => Backend::Auto,
        Some("kaio") => Backend::Kaio,
        Some("uring") => Backend::Uring,
        Some("pool") => Backend::Pool,
        Some(other) => {
            log::warn(format_args!("AIO_SHIM_BACKEND={other:?} is not auto|kaio|uring|pool; using auto"));
            Backend::Auto
        }
    };
    let stats = match env(c"AIO_SHIM_STATS") {
        None => StatsTo::Off,
        Some(s) if s.is_empty() || s == "0" => StatsTo::Off,
        Some(s) if s == "1" => StatsTo::Stderr,
        Some(s) => match std::ffi::CString::new(s) {
            Ok(c) => StatsTo::File(c),
            Err(_) => StatsTo::Off,
        },
    };
    let direct = match env(c"AIO_SHIM_DIRECT").as_deref() {
        None | Some("") | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            log::warn(format_args!("AIO_SHIM_DIRECT={other:?} is not 0|1; using 0"));
            false
        }
    };
    Config {
        backend,
        maxevents: parse_count("AIO_SHIM_MAXEVENTS", env(c"AIO_SHIM_MAXEVENTS"), 1 << 20),
        threads: parse_count("AIO_SHIM_THREADS", env(c"AIO_SHIM_THREADS"), 4096),
        stats,
        direct,
        spin_us: match env(c"AIO_SHIM_SPIN_US") {
            Some(v) if v.trim() == "0" => 0,
            v => parse_count("AIO_SHIM_SPIN_US", v, 1000).unwrap_or(SPIN_US_DEFAULT),
        },
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();

pub fn get() -> &'static Config {
    CONFIG.get_or_init(load)
}

/// The log level is needed before `Config` (warnings while loading it).
pub fn log_level_from_env() -> u8 {
    match env(c"AIO_SHIM_LOG").as_deref() {
        None | Some("") | Some("off") => 0,
        Some("warn") => 1,
        Some("debug") => 2,
        Some(_) => 1,
    }
}

/// `aio_init`: like glibc, the thread count and aio_num count only before
/// the first request; the idle time may change at any time.
pub fn aio_init(threads: i32, num: i32, idle: i32, started: bool) {
    if !started {
        POOL_THREADS.store(threads.max(1) as u32, Ordering::Relaxed);
        AIO_NUM.store(num.max(32) as u32, Ordering::Relaxed);
    }
    if idle != 0 {
        IDLE_TIME.store(idle, Ordering::Relaxed);
    }
}

/// Maximum pool threads: AIO_SHIM_THREADS, else aio_init, else 20.
pub fn pool_threads() -> u32 {
    if let Some(t) = get().threads {
        return t;
    }
    match POOL_THREADS.load(Ordering::Relaxed) {
        0 => DEFAULT_THREADS,
        n => n,
    }
}

/// Seconds an idle pool thread waits before exiting (negative: forever).
pub fn idle_time() -> i32 {
    IDLE_TIME.load(Ordering::Relaxed)
}

/// Kernel ring size: AIO_SHIM_MAXEVENTS, else aio_init's aio_num, else 1024.
pub fn maxevents() -> u32 {
    if let Some(m) = get().maxevents {
        return m;
    }
    match AIO_NUM.load(Ordering::Relaxed) {
        0 => DEFAULT_MAXEVENTS,
        n => n,
    }
}
