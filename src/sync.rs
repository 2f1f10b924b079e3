//! Everything the lock-free protocols (`protocol.rs`, `slots.rs`) take from
//! the outside world: atomics, the free-list mutex, futex wake-up, yield,
//! and the slot table's dimensions.
//!
//! Those two files name nothing else, so the loom models in `loom-models/`
//! compile *the same files* (`#[path]`) against their own `crate::sync`,
//! built on loom's atomics, mutex and a futex emulation: what loom checks
//! exhaustively is the code that ships, not a copy of it.
pub use parking_lot::Mutex;
pub use std::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Slots per chunk of the slot table, and chunks at most (4M in flight).
pub const SLOT_CHUNK: usize = 4096;
pub const SLOT_CHUNKS: usize = 1024;

pub fn futex_wake_all(word: &AtomicU32) {
    crate::sys::futex_wake_all(word)
}

/// Sleep while `*word == val` (no deadline); EINTR and spurious wake-ups
/// return, the caller re-checks.
pub fn futex_wait(word: &AtomicU32, val: u32) -> Result<(), i32> {
    crate::sys::futex_wait(word, val, None)
}

pub fn yield_now() {
    // SAFETY: a plain syscall; async-signal-safe.
    unsafe { libc::sched_yield() };
}
