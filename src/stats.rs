//! Counters (relaxed atomics, one cache line each group) and the report at
//! exit: `AIO_SHIM_STATS=1` prints one line on stderr, `AIO_SHIM_STATS=/path`
//! appends one JSON object per process (opened O_NOFOLLOW|O_NONBLOCK,
//! created 0600, written only if it is a regular file).
//!
//! The exit hook is registered on the first AIO call, so a process that
//! never calls AIO never reports.
use crate::config::{self, StatsTo};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($($name:ident),* $(,)?) => {
        #[derive(Default)]
        pub struct Counters { $(pub $name: AtomicU64,)* }
        impl Counters {
            pub const fn new() -> Self { Counters { $($name: AtomicU64::new(0),)* } }
            fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name.load(Relaxed)),)*]
            }
            fn reset(&self) { $(self.$name.store(0, Relaxed);)* }
        }
    };
}

counters!(
    calls,
    submitted,
    kaio,
    nowait,
    uring,
    pool,
    immediate,
    completed,
    cancelled,
    errors,
    lio_calls,
    suspend_calls,
    suspend_waits,
    kaio_ring_full,
    kaio_waiter_reaped,
    kaio_poll_reaped,
    fallback_not_direct,
    fallback_stream,
    fallback_fsync,
    fallback_signal,
    fallback_io_setup,
    fallback_kaio_submit,
    fallback_backend_setting,
    fallback_would_block,
    fallback_nowait_unsupported,
    nowait_partial,
    nowait_skipped_cold,
    uring_full,
    twin,
    twin_bounce,
    fallback_twin,
    fallback_uring_unavailable,
    notify_failed,
);

pub static C: Counters = Counters::new();

#[inline]
pub fn add(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

static HOOKED: AtomicBool = AtomicBool::new(false);

extern "C" fn at_exit() {
    report();
}

/// Counts a call from a signal-safe entry point (no hook, no allocation).
#[inline]
pub fn count() {
    add(&C.calls);
}

/// Called by every other entry point: counts the call and, the first time, hooks
/// the report at exit.
#[inline]
pub fn entry() {
    add(&C.calls);
    if !HOOKED.load(Relaxed) && !HOOKED.swap(true, Relaxed) {
        // SAFETY: registering a plain extern "C" fn.
        unsafe { libc::atexit(at_exit) };
    }
}

pub fn json() -> String {
    // SAFETY: getpid never fails.
    let mut s = format!("{{\"pid\":{}", unsafe { libc::getpid() });
    for (k, v) in C.fields() {
        s.push_str(&format!(",\"{k}\":{v}"));
    }
    s.push_str("}\n");
    s
}

pub fn line() -> String {
    let mut s = format!("aio_shim: stats pid={}", unsafe { libc::getpid() });
    for (k, v) in C.fields() {
        if v != 0 || matches!(k, "calls" | "submitted" | "completed") {
            s.push_str(&format!(" {k}={v}"));
        }
    }
    s.push('\n');
    s
}

fn write_all(fd: i32, s: &str) {
    // SAFETY: valid buffer.
    unsafe { libc::write(fd, s.as_ptr().cast(), s.len()) };
}

pub fn report() {
    match &config::get().stats {
        StatsTo::Off => {}
        StatsTo::Stderr => write_all(2, &line()),
        StatsTo::File(path) => {
            // SAFETY: path is NUL-terminated.
            let fd = unsafe {
                libc::open(
                    path.as_ptr(),
                    libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK,
                    0o600,
                )
            };
            // Only a regular file: a FIFO (anyone can plant one at a shared
            // path) would hang the exit; O_NONBLOCK keeps the open itself
            // from waiting for a reader.
            // SAFETY: valid out pointer; fstat on our fd.
            let mut st: libc::stat = unsafe { core::mem::zeroed() };
            let regular = fd >= 0 && unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFREG;
            if fd >= 0 && !regular {
                // SAFETY: our own fd.
                unsafe { libc::close(fd) };
                crate::log::warn(format_args!("the stats file {:?} is not a regular file; not written", path));
            } else if fd >= 0 {
                write_all(fd, &json());
                // SAFETY: our own fd.
                unsafe { libc::close(fd) };
            } else {
                crate::log::warn(format_args!("cannot open the stats file {:?}", path));
            }
        }
    }
}

/// A forked child counts its own calls from zero (the exit hook is inherited).
pub fn reset_after_fork() {
    C.reset();
}
