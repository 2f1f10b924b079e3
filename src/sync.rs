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

/// One round of waiting for another thread's short window (a few
/// microseconds: one syscall) to close: spin first, since the other thread
/// is most likely running on another CPU, then yield to it in case it is
/// waiting for ours. Async-signal-safe.
pub fn backoff(round: &mut u32) {
    if *round < SPIN_ROUNDS {
        *round += 1;
        std::hint::spin_loop();
    } else {
        yield_now();
    }
}

/// About 2-10 microseconds of `pause`, depending on the CPU.
const SPIN_ROUNDS: u32 = 128;

pub fn yield_now() {
    // SAFETY: a plain syscall; async-signal-safe.
    unsafe { libc::sched_yield() };
}
