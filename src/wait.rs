//! The completion futex. Every completion bumps one global generation
//! counter after storing its result; `aio_suspend` scans its list and, if
//! nothing is done, sleeps until the counter moves. No per-waiter
//! registration and no lock: safe to use from a signal handler.
//!
//! The protocol itself (a waiter raises WAITERS, reads GEN, scans, and
//! waits on GEN; a completer stores its result, raises GEN, and wakes only
//! when WAITERS is non-zero) is `protocol::Counter`, checked by loom; this
//! file holds its statics and what cannot be modelled: the per-thread
//! batching, the spin, the cancellable sleep.
use crate::protocol::{self, Counter};
use crate::sys;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

pub static GEN: AtomicU32 = AtomicU32::new(0);
static WAITERS: AtomicU32 = AtomicU32::new(0);

pub fn counter() -> Counter<'static> {
    Counter { gen: &GEN, waiters: &WAITERS }
}

pub fn bump() {
    if DEFER.with(|d| d.get()) {
        PENDING.with(|p| p.set(true));
        return;
    }
    counter().bump();
}

// Completion paths only, never aio_suspend's (see the note on TLS in
// threads.rs).
thread_local! {
    static DEFER: Cell<bool> = const { Cell::new(false) };
    static PENDING: Cell<bool> = const { Cell::new(false) };
}

/// While held, this thread's completions bump the counter once, when it
/// is dropped: a reaper publishes a whole batch of results, then wakes
/// `aio_suspend` callers once (not once per request, each then rescanning
/// its whole list).
pub struct Batch(());

impl Batch {
    #[allow(clippy::new_without_default)] // a guard: made only to be held
    pub fn new() -> Batch {
        DEFER.with(|d| d.set(true));
        Batch(())
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        DEFER.with(|d| d.set(false));
        if PENDING.with(|p| p.replace(false)) {
            bump();
        }
    }
}

/// Poll GEN for up to `us` microseconds; true if it moved from `seen`.
/// Lock-free, allocation-free (the clock is the vDSO's).
pub fn spin_until_changed(seen: u32, us: u32) -> bool {
    if us == 0 {
        return false;
    }
    let deadline = sys::monotonic_now();
    let end = deadline.tv_sec * 1_000_000_000 + deadline.tv_nsec + us as i64 * 1000;
    loop {
        for _ in 0..32 {
            core::hint::spin_loop();
        }
        if GEN.load(SeqCst) != seen {
            return true;
        }
        let t = sys::monotonic_now();
        if t.tv_sec * 1_000_000_000 + t.tv_nsec >= end {
            return false;
        }
    }
}

/// Holds WAITERS raised; dropped also when a thread is cancelled in a wait.
pub struct Waiter(());

impl Waiter {
    pub fn new() -> Waiter {
        counter().enter();
        Waiter(())
    }
}

impl Default for Waiter {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        counter().leave();
    }
}

extern "C-unwind" {
    fn pthread_setcanceltype(kind: libc::c_int, old: *mut libc::c_int) -> libc::c_int;
    fn pthread_testcancel();
}

/// A cancellation point: unwinds (forced) if this thread was cancelled.
pub fn testcancel() {
    // SAFETY: a plain pthread call; it may unwind, which C-unwind allows.
    unsafe { pthread_testcancel() }
}
const PTHREAD_CANCEL_ASYNCHRONOUS: libc::c_int = 1;

/// Sleep until GEN moves from `seen`, the deadline passes (ETIMEDOUT) or a
/// handler runs (EINTR). A cancellation point, like glibc's: asynchronous
/// cancellation is enabled around the syscall only.
pub fn wait_cancellable(seen: u32, deadline: Option<&libc::timespec>) -> Result<(), i32> {
    let mut old = 0;
    // SAFETY: plain pthread calls on the current thread.
    unsafe { pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &mut old) };
    let r = sys::futex_wait_unwindable(&GEN, seen, deadline);
    unsafe { pthread_setcanceltype(old, &mut old) };
    r
}

/// Wait until `word` reaches zero (LIO_WAIT). Not a cancellation point
/// (glibc disables cancellation there). Returns EINTR if a handler ran.
pub fn wait_zero(word: &AtomicU32) -> Result<(), i32> {
    protocol::wait_zero(word)
}
