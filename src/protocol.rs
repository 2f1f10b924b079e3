//! The lock-free protocols between a completing request and the readers that
//! may not take a lock (`aio_error`, `aio_return` and `aio_suspend` are
//! async-signal-safe), in one place so that loom can check them:
//!
//! * **Result words.** A request owns its aiocb's `__error_code`,
//!   `__return_value` and tag word (`__next_prio`) from `begin` until
//!   `complete` stores the error code (Release). A reader that sees a final
//!   error code (Acquire) sees the return value stored with it; a reader
//!   that sees EINPROGRESS sees the tag of that same submission.
//! * **The completing window.** A request whose signal must be pending
//!   before its result is visible (complete.rs) marks its slot completing,
//!   sends the signal, then stores the result; `error` waits that window
//!   out, so a handler on another thread that runs at once finds the result.
//! * **The completion counter** (`Counter`: GEN and WAITERS, statics in
//!   wait.rs). A completer stores its result, raises GEN, and wakes the
//!   futex only when WAITERS is non-zero; a waiter raises WAITERS, reads GEN,
//!   scans, and sleeps on GEN unchanged. Either the completer sees the waiter
//!   or the waiter's futex sees GEN moved: no lost wake-up, no lock.
//! * **`LIO_WAIT`'s remaining count**: the last `count_down` wakes
//!   `wait_zero`.
//! * **The kernel AIO reaping role** (`Role`, backend/kaio.rs): one consumer
//!   of the completion ring at a time; a waiter takes it or counts itself in
//!   `want`, a releaser that sees `want` bumps GEN.
//! * **The reaper's bell** (`Bell`): the reaper thread, not holding the
//!   role, sleeps without a deadline only after announcing it and
//!   re-checking why it would wake; whoever changes one of those reasons
//!   (a waiter leaving `want` or the role, a submission, a deferred
//!   completion) rings if it sleeps.
//! * **The deferred stack** (`push`, `take_all`): completions a waiter
//!   reaped, left for a thread that may lock.
//!
//! This file and slots.rs use nothing but `crate::sync` (and libc's errno
//! numbers): `loom-models/` compiles both against loom. The fork reset is
//! not here: a child drops the whole engine (engine.rs) and the models check
//! that a parent's tags never pass for the child's requests.
use crate::slots::Slots;
use crate::sync::{backoff, fence, futex_wait, futex_wake_all, AtomicBool, AtomicI32, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// The three words of one aiocb that the engine and the lock-free readers
/// share.
pub struct Words<'a> {
    pub err: &'a AtomicI32,
    pub ret: &'a AtomicIsize,
    pub tag: &'a AtomicU64,
}

impl Words<'_> {
    /// Submission: from here the aiocb is the request's (slot `tag`).
    pub fn begin(&self, tag: u64) {
        self.tag.store(tag, Ordering::Release);
        self.ret.store(0, Ordering::Relaxed);
        self.err.store(libc::EINPROGRESS, Ordering::Release);
    }

    /// Done inside the submitting call, never seen in flight (a page-cache
    /// hit in `aio_read`): no slot.
    pub fn done_at_once(&self, ret: isize) {
        self.tag.store(0, Ordering::Relaxed);
        self.ret.store(ret, Ordering::Relaxed);
        self.err.store(0, Ordering::Release);
    }

    /// Completion (complete.rs steps 2-5 without the bookkeeping): the
    /// return value, then, if `signals` is given, the completing window
    /// around them, then the error code (after which the user may free or
    /// reuse the aiocb: nothing here reads it again), then the slot.
    /// The caller bumps the completion counter after.
    pub fn complete(&self, slots: &Slots, tag: u64, ret: isize, err: i32, signals: Option<impl FnOnce()>) {
        self.ret.store(ret, Ordering::Relaxed);
        if let Some(send) = signals {
            slots.mark_completing(tag);
            send();
        }
        self.err.store(err, Ordering::Release);
        slots.release(tag);
    }

    /// A result stored by a thread that may not take locks (a waiter that
    /// reaped it in `aio_suspend`): the slot stays taken until the
    /// bookkeeping is done elsewhere (backend/kaio.rs).
    pub fn publish(&self, ret: isize, err: i32) {
        self.ret.store(ret, Ordering::Relaxed);
        self.err.store(err, Ordering::Release);
    }

    /// `aio_error`: the error code, once any completing window is over.
    /// Never called by the thread inside the window (its signals are
    /// blocked through it), so it cannot wait for itself.
    pub fn error(&self, slots: Option<&Slots>, cb: usize) -> i32 {
        let e = self.err.load(Ordering::Acquire);
        if e != libc::EINPROGRESS {
            return e;
        }
        if let Some(slots) = slots {
            let tag = self.tag.load(Ordering::Acquire);
            let mut round = 0;
            while slots.is_completing(tag, cb) {
                backoff(&mut round);
            }
        }
        self.err.load(Ordering::Acquire)
    }

    /// `aio_return`: like glibc, two loads and no reset.
    pub fn ret(&self) -> isize {
        self.err.load(Ordering::Acquire);
        self.ret.load(Ordering::Relaxed)
    }

    /// In flight with us (not merely saying EINPROGRESS, as a parent's aiocb
    /// does in a forked child): `aio_suspend`'s test, and the duplicate
    /// submission check.
    pub fn in_flight(&self, slots: Option<&Slots>, cb: usize) -> bool {
        self.err.load(Ordering::Acquire) == libc::EINPROGRESS
            && slots.is_some_and(|s| s.is_live(self.tag.load(Ordering::Acquire), cb))
    }
}

/// The completion counter and the number of sleepers on it.
pub struct Counter<'a> {
    pub gen: &'a AtomicU32,
    pub waiters: &'a AtomicU32,
}

impl Counter<'_> {
    /// After a result is stored: move GEN, wake sleepers if there are any.
    ///
    /// The two sides are a store-buffering (Dekker) pattern: each writes
    /// one word and reads the other's. The SeqCst fence on each side is
    /// what forbids both reading the old value (C11: of two SeqCst fences,
    /// the later one's reads see the earlier one's writes). SeqCst on the
    /// accesses alone would do too, but loom models SeqCst accesses as
    /// AcqRel and SeqCst fences exactly: with the fences loom can check the
    /// protocol (without them it reports the lost wake-up it cannot rule
    /// out). On x86 the fence is one `mfence` after a locked RMW.
    pub fn bump(&self) {
        self.gen.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) != 0 {
            futex_wake_all(self.gen);
        }
    }

    /// `bump` from a thread that is itself counted in WAITERS (a waiter
    /// that reaped in `aio_suspend`): it need not wake itself.
    pub fn bump_from_waiter(&self) {
        self.gen.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 1 {
            futex_wake_all(self.gen);
        }
    }

    /// Raise WAITERS before reading GEN (see `bump`).
    pub fn enter(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    pub fn leave(&self) {
        self.waiters.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn generation(&self) -> u32 {
        self.gen.load(Ordering::SeqCst)
    }

    /// `aio_suspend`'s loop, called between `enter` and `leave`: scan with
    /// `done`, and `sleep(seen)` while GEN has not moved from the `seen`
    /// that preceded the last scan. `sleep` returns Ok to go on (woken,
    /// spurious, EAGAIN) or the error that ends the wait.
    pub fn wait_for(&self, mut done: impl FnMut() -> bool, mut sleep: impl FnMut(u32) -> Result<(), i32>) -> Result<(), i32> {
        let mut seen = self.generation();
        if done() {
            return Ok(());
        }
        loop {
            let now = self.generation();
            if now != seen {
                seen = now;
                if done() {
                    return Ok(());
                }
                continue;
            }
            sleep(seen)?;
        }
    }
}

/// One request of a list done; true for the last one, which then wakes
/// `wait_zero` (or sends the list's event).
pub fn count_down(remaining: &AtomicU32) -> bool {
    remaining.fetch_sub(1, Ordering::AcqRel) == 1
}

pub fn wake_zero(remaining: &AtomicU32) {
    futex_wake_all(remaining)
}

/// Wait until `remaining` reaches zero (`LIO_WAIT`). EINTR if a handler
/// ran and the list is not done.
pub fn wait_zero(remaining: &AtomicU32) -> Result<(), i32> {
    loop {
        let v = remaining.load(Ordering::SeqCst);
        if v == 0 {
            return Ok(());
        }
        match futex_wait(remaining, v) {
            Ok(()) | Err(libc::EAGAIN) => {}
            Err(libc::EINTR) => {
                return if remaining.load(Ordering::SeqCst) == 0 { Ok(()) } else { Err(libc::EINTR) };
            }
            Err(e) => return Err(e),
        }
    }
}

/// Who consumes the kernel AIO completion ring right now (backend/kaio.rs):
/// FREE, the reaper thread, or one thread inside `aio_suspend` that sleeps
/// in `io_getevents` itself (one wake-up per completion instead of two).
/// The ring has one consumer at a time: the holder. Taking is a CAS from
/// FREE (Acquire: it sees the ring head the last holder left); release is
/// a Release store. `want` counts waiters that would take it but found it
/// held: the reaper yields to them.
pub struct Role<'a> {
    pub state: &'a AtomicU32,
    pub want: &'a AtomicU32,
}

pub const ROLE_FREE: u32 = 0;
pub const ROLE_REAPER: u32 = 1;
pub const ROLE_WAITER: u32 = 2;

/// What a waiter got from `Role::take_or_want`.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// The role: consume, complete, release.
    Got,
    /// Counted in `want`; sleep on GEN (from the `seen` read before), then
    /// `unwant`. The holder bumps GEN when it releases.
    Wanting,
    /// It was freed meanwhile: try again.
    Retry,
}

impl Role<'_> {
    pub fn take(&self, who: u32) -> bool {
        self.state.compare_exchange(ROLE_FREE, who, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// A waiter's attempt. `want` and the role are a Dekker pair with
    /// `release_wanted`: either this sees the role free, or the releaser
    /// sees `want` and wakes the sleepers. Every way out of `want` goes
    /// through `unwant`, which rings `bell`: the reaper may have passed
    /// over a free role because of this `want` and gone to sleep.
    pub fn take_or_want(&self, bell: &Bell) -> Take {
        if self.take(ROLE_WAITER) {
            return Take::Got;
        }
        self.want.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.state.load(Ordering::SeqCst) == ROLE_FREE {
            self.unwant(bell);
            return Take::Retry;
        }
        Take::Wanting
    }

    /// A waiter that wanted the role leaves without it (the role freed,
    /// its request done, a deadline, a handler, cancellation).
    /// Async-signal-safe.
    pub fn unwant(&self, bell: &Bell) {
        self.want.fetch_sub(1, Ordering::SeqCst);
        bell.ring_if_idle();
    }

    /// Release; true if waiters want the role (the caller must then bump
    /// the completion counter to wake them).
    pub fn release_wanted(&self) -> bool {
        self.state.store(ROLE_FREE, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.want.load(Ordering::SeqCst) != 0
    }

    pub fn holder(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }
}

/// The reaper thread's sleep while it does not hold the role
/// (backend/kaio.rs). It reads `word`, `announce`s whether it will sleep
/// without a deadline (`idle`), re-checks every reason it has to run (the
/// role free and nobody wanting it, requests in flight, deferred
/// completions), and only then sleeps on `word` unchanged. Whoever changes
/// a reason changes it first and then calls `ring_if_idle`: a Dekker pair
/// (SeqCst fences), so either the re-check sees the change or the ringer
/// sees `idle` and moves `word`. A reaper that sleeps with a deadline
/// needs no ring (it re-checks when the deadline passes).
pub struct Bell<'a> {
    pub word: &'a AtomicU32,
    pub idle: &'a AtomicBool,
}

impl Bell<'_> {
    /// Wake the reaper unconditionally.
    pub fn ring(&self) {
        self.word.fetch_add(1, Ordering::SeqCst);
        futex_wake_all(self.word);
    }

    /// After changing a reason the reaper re-checks: wake it if it may be
    /// asleep without a deadline. Async-signal-safe.
    pub fn ring_if_idle(&self) {
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) {
            self.ring();
        }
    }

    /// The reaper, before its re-check: the value to sleep on.
    pub fn announce(&self, idle: bool) -> u32 {
        let seen = self.word.load(Ordering::SeqCst);
        self.idle.store(idle, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        seen
    }

    /// The reaper, awake (or not going to sleep after all).
    pub fn awake(&self) {
        self.idle.store(false, Ordering::SeqCst);
    }
}

/// An intrusive lock-free stack (Treiber): any thread pushes, even in a
/// signal handler (one CAS loop, no allocation); one drainer takes
/// everything at once. `next` is the node's link field.
pub fn push<T>(head: &AtomicPtr<T>, node: *mut T, next: impl Fn(*mut T) -> *const AtomicPtr<T>) {
    let mut h = head.load(Ordering::Relaxed);
    loop {
        // SAFETY: the caller owns `node` until the CAS publishes it.
        unsafe { (*next(node)).store(h, Ordering::Relaxed) };
        match head.compare_exchange_weak(h, node, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => h = now,
        }
    }
}

pub fn take_all_is_empty<T>(head: &AtomicPtr<T>) -> bool {
    head.load(Ordering::Acquire).is_null()
}

/// Everything pushed so far, newest first (follow `next`); null if empty.
pub fn take_all<T>(head: &AtomicPtr<T>) -> *mut T {
    if head.load(Ordering::Relaxed).is_null() {
        return core::ptr::null_mut();
    }
    head.swap(core::ptr::null_mut(), Ordering::Acquire)
}
