//! Diagnostics: `aio_shim: ...` lines on stderr, only when `AIO_SHIM_LOG`
//! asks for them (off by default). Never stdout.
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

const UNSET: u8 = 255;
static LEVEL: AtomicU8 = AtomicU8::new(UNSET);

fn level() -> u8 {
    let l = LEVEL.load(Ordering::Relaxed);
    if l != UNSET {
        return l;
    }
    let l = crate::config::log_level_from_env();
    LEVEL.store(l, Ordering::Relaxed);
    l
}

/// One whole line with one write(2), so lines from threads do not mix.
pub fn emit(args: std::fmt::Arguments) {
    let mut s = String::with_capacity(128);
    s.push_str("aio_shim: ");
    let _ = s.write_fmt(args);
    s.push('\n');
    // SAFETY: valid buffer.
    unsafe { libc::write(2, s.as_ptr().cast(), s.len()) };
}

pub fn warn(args: std::fmt::Arguments) {
    if level() >= 1 {
        emit(args);
    }
}

pub fn debug(args: std::fmt::Arguments) {
    if level() >= 2 {
        emit(args);
    }
}

pub fn reset_after_fork() {
    // Nothing: the level is a property of the environment, inherited as is.
}
