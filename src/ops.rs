//! The POSIX AIO operations in Rust terms. Each returns `Result<_, errno>`;
//! the exports in `shim/` turn that into -1 + errno. Behaviour follows
//! glibc's `rt/` and `sysdeps/pthread/aio_*.c` (the oracle), except where
//! glibc is broken (documented in README "Differences from glibc").
use crate::abi::glibc::*;
use crate::backend::nowait;
use crate::complete::{dispatch, finish};
use crate::engine::{self, Engine};
use crate::notify::Notify;
use crate::request::{Group, Op, Request, Route, RUNNING, WAITING};
use crate::route;
use crate::stats::{self, C};
use crate::complete::words;
use crate::{config, sys, wait};
use libc::c_int;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

type R<T> = Result<T, i32>;

// Field accessors: the fields the shim and a concurrent aio_error/aio_return
// (or another thread) may touch at the same time are accessed atomically.
fn error_code(cb: *const Aiocb) -> &'static AtomicI32 {
    words(cb).err
}

/// Is this aiocb in flight with us right now? Lock-free.
fn in_flight(cb: *const Aiocb) -> bool {
    words(cb).in_flight(engine::peek().map(|e| &e.slots), cb as usize)
}

fn sched_params() -> (c_int, c_int) {
    let mut policy = 0;
    // SAFETY: valid out pointers, current thread.
    let mut param: libc::sched_param = unsafe { core::mem::zeroed() };
    unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
    (policy, param.sched_priority)
}

/// glibc's `__aio_enqueue_request` plus the routing: validate, write the
/// submission fields into the aiocb, then queue or start the request.
///
/// # Safety
/// `cb` is null or points to an aiocb the caller keeps alive until done.
pub unsafe fn submit(cb: *mut Aiocb, op: Op, opcode: c_int, group: Option<&Arc<Group>>) -> R<()> {
    // SAFETY: forwarded.
    let r = unsafe { submit_one(cb, op, opcode, group) };
    // What waiters reaped in aio_suspend and left for a thread that may
    // lock (backend/kaio.rs): after this request is on its way, so that
    // the bookkeeping is not on its latency path. (A barrier this request
    // waits behind is started by that bookkeeping.)
    if let Some(eng) = engine::peek() {
        if let Some(k) = eng.kaio_ready() {
            k.drain_deferred(eng);
        }
    }
    r
}

/// # Safety
/// As for `submit`.
unsafe fn submit_one(cb: *mut Aiocb, op: Op, opcode: c_int, group: Option<&Arc<Group>>) -> R<()> {
    if cb.is_null() {
        return Err(libc::EINVAL);
    }
    // The same aiocb twice in flight would have two requests writing one
    // result: refuse the second, leave the first untouched.
    if in_flight(cb) {
        return Err(libc::EINVAL);
    }
    // SAFETY: non-null, the user's aiocb, not in flight.
    let c = unsafe { &mut *cb };
    if matches!(op, Op::Fsync | Op::Fdsync) {
        c.aio_reqprio = 0;
    } else if c.aio_reqprio < 0 || c.aio_reqprio > AIO_PRIO_DELTA_MAX {
        c.__return_value = -1;
        error_code(cb).store(libc::EINVAL, Ordering::Release);
        return Err(libc::EINVAL);
    }
    let eng = engine::get();
    let (policy, prio) = sched_params();
    c.__abs_prio = prio - c.aio_reqprio;
    c.__policy = policy;
    c.aio_lio_opcode = opcode;
    let notify = Notify::from_sigevent(&c.aio_sigevent);

    // Fast path: a SIGEV_NONE read or write outside any list, on a buffered
    // fd with nothing of ours in flight, is tried at once with RWF_NOWAIT
    // (backend/nowait.rs) before any bookkeeping: served from the page
    // cache, it is complete when aio_read returns, for one preadv2 (and an
    // fcntl every 16th request, nowait.rs `flags`). Anything else (would
    // block, a pipe, an error) takes the normal path below, remembering
    // what was done.
    let mut tried: Option<usize> = None;
    let mut known_flags = -1;
    // One look at the fd's entry: an fd with requests in flight has its
    // kind and flags cached there (checked below).
    let cached = eng.fds.cached(c.aio_fildes);
    let cfg = config::get();
    if group.is_none()
        && op.is_rw()
        && matches!(notify, Notify::None)
        && cfg.backend != config::Backend::Pool
        && !cfg.direct
    {
        // Remembered flags (nowait.rs `flags`) serve only this attempt;
        // what follows a miss reads them afresh.
        let (flags, fresh) = if cached.is_none() { nowait::flags(c.aio_fildes) } else { (-1, true) };
        if fresh {
            known_flags = flags;
        }
        let plain = flags >= 0 && flags & libc::O_DIRECT == 0 && !(op == Op::Write && flags & libc::O_APPEND != 0);
        if plain {
            match nowait::try_rw(op, c.aio_fildes, c.aio_buf as usize, c.aio_nbytes, c.aio_offset) {
                nowait::Outcome::Done(n) => {
                    words(cb).done_at_once(n);
                    stats::add(&C.submitted);
                    stats::add(&C.completed);
                    return Ok(());
                }
                nowait::Outcome::Partial(n) => tried = Some(n),
                nowait::Outcome::WouldBlock => tried = Some(0),
                nowait::Outcome::NotSeekable => {}
            }
        }
    }

    let tag = eng.slots.alloc(cb as usize).ok_or(libc::EAGAIN)?;
    words(cb).begin(tag);
    stats::add(&C.submitted);

    let probe = route::FdInfo::check(cached, c.aio_fildes, known_flags);
    let (exclusive, mut route) = match &probe {
        Ok(info) => {
            let ex = route::exclusive(op, info);
            (ex, route::choose(op, info, ex, || eng.kaio().is_some()))
        }
        Err(_) => (false, Route::Pool),
    };
    // Already tried without blocking: the pool does the rest.
    if tried.is_some() {
        route = Route::Pool;
    }
    let simple = matches!(notify, Notify::None) && group.is_none() && !exclusive;
    let req = Arc::new(Request {
        cb,
        op,
        fd: c.aio_fildes,
        buf: c.aio_buf as usize,
        nbytes: c.aio_nbytes,
        offset: c.aio_offset,
        reqprio: c.aio_reqprio,
        notify,
        group: group.cloned(),
        exclusive,
        stream: probe.as_ref().is_ok_and(|i| i.is_stream()),
        direct: probe.as_ref().is_ok_and(|i| i.is_direct()),
        route,
        tag,
        state: AtomicU8::new(WAITING),
        progress: AtomicUsize::new(tried.unwrap_or(0)),
        iocb: UnsafeCell::new(Default::default()),
        bounce: UnsafeCell::new(None),
        simple,
        next: AtomicPtr::new(core::ptr::null_mut()),
        kres: AtomicI64::new(0),
    });
    let info = match probe {
        Ok(info) => info,
        Err(e) => {
            // A closed fd: glibc reports it through aio_error, not here,
            // and its worker fails an invalid opcode (EINVAL) before it
            // calls pread/pwrite, which fail a negative offset (EINVAL)
            // before they look at the fd.
            let e = match op {
                Op::Invalid => libc::EINVAL,
                Op::Read | Op::Write if c.aio_offset < 0 => libc::EINVAL,
                _ => e,
            };
            stats::add(&C.immediate);
            finish(eng, req, -1, e, false, false);
            return Ok(());
        }
    };
    if eng.fds.admit(&req, info) {
        let _s = crate::threads::Submitting::new();
        dispatch(eng, req);
    }
    Ok(())
}

/// # Safety
/// As for `submit`.
pub unsafe fn aio_read(cb: *mut Aiocb) -> R<()> {
    // SAFETY: forwarded.
    unsafe { submit(cb, Op::Read, LIO_READ, None) }
}

/// # Safety
/// As for `submit`.
pub unsafe fn aio_write(cb: *mut Aiocb) -> R<()> {
    // SAFETY: forwarded.
    unsafe { submit(cb, Op::Write, LIO_WRITE, None) }
}

/// # Safety
/// As for `submit`.
pub unsafe fn aio_fsync(op: c_int, cb: *mut Aiocb) -> R<()> {
    if op != libc::O_SYNC && op != libc::O_DSYNC {
        return Err(libc::EINVAL);
    }
    if cb.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: non-null user aiocb.
    if unsafe { libc::fcntl((*cb).aio_fildes, libc::F_GETFL) } < 0 {
        return Err(libc::EBADF);
    }
    let (kind, opcode) = if op == libc::O_SYNC { (Op::Fsync, LIO_SYNC) } else { (Op::Fdsync, LIO_DSYNC) };
    // SAFETY: forwarded.
    unsafe { submit(cb, kind, opcode, None) }
}

/// Lock-free and async-signal-safe: one load when the request is done. In
/// progress, the kernel AIO ring is emptied here if nobody is reaping it
/// (backend/kaio.rs `poll_reap`), and the word read again.
pub fn aio_error(cb: *const Aiocb) -> R<c_int> {
    if cb.is_null() {
        return Err(libc::EINVAL);
    }
    // Its signal may be out with the result a few instructions behind (see
    // complete.rs): protocol.rs waits that window out, as glibc's aio_error
    // waits for its lock.
    let eng = engine::peek();
    let error = || words(cb).error(eng.map(|e| &e.slots), cb as usize);
    let e = error();
    match eng.and_then(|eng| Some((eng, eng.kaio_ready()?))) {
        Some((eng, k)) if e == libc::EINPROGRESS => {
            k.poll_reap(eng);
            Ok(error())
        }
        _ => Ok(e),
    }
}

/// Lock-free and async-signal-safe: two loads. Like glibc it resets nothing.
pub fn aio_return(cb: *mut Aiocb) -> R<isize> {
    if cb.is_null() {
        return Err(libc::EINVAL);
    }
    Ok(words(cb).ret())
}

enum Scan {
    Done,
    Wait,
}

/// glibc's rule: return at once if any entry is finished, or says
/// EINPROGRESS but is not a request we know (e.g. a parent's, after fork),
/// or if every entry is NULL.
fn scan(list: *const *const Aiocb, nent: usize) -> Scan {
    let mut any = false;
    for i in 0..nent {
        // SAFETY: the caller passes nent readable entries.
        let cb = unsafe { *list.add(i) };
        if cb.is_null() {
            continue;
        }
        if !in_flight(cb) {
            return Scan::Done;
        }
        any = true;
    }
    if any {
        Scan::Wait
    } else {
        Scan::Done
    }
}

/// Is every entry still in flight a kernel AIO request that a waiter may
/// complete (and is there one)? Lock-free.
fn kaio_only(slots: &crate::slots::Slots, list: *const *const Aiocb, nent: usize) -> bool {
    let mut any = false;
    for i in 0..nent {
        // SAFETY: the caller passes nent readable entries.
        let cb = unsafe { *list.add(i) };
        if cb.is_null() || !in_flight(cb) {
            continue;
        }
        if !slots.is_kaio(words(cb).tag.load(Ordering::Acquire), cb as usize) {
            return false;
        }
        any = true;
    }
    any
}

/// aio_suspend: lock-free, allocation-free, async-signal-safe, and a
/// cancellation point while it sleeps.
///
/// # Safety
/// `list` has `nent` readable entries; `timeout` is null or valid.
pub unsafe fn aio_suspend(list: *const *const Aiocb, nent: c_int, timeout: *const libc::timespec) -> R<()> {
    stats::add(&C.suspend_calls);
    if nent < 0 {
        return Err(libc::EINVAL);
    }
    // Like glibc, a finished request makes the call succeed whatever the
    // timeout; a negative timeout is a deadline already past (EAGAIN).
    // tv_nsec out of range, on which glibc aborts, is EINVAL.
    // The timeout is checked (and turned into a deadline) at the first
    // sleep, after the first scan.
    let _waiter = wait::Waiter::new();
    let mut deadline: Option<Option<libc::timespec>> = None;
    let spin_us = config::get().spin_us;
    wait::counter().wait_for(
        || matches!(scan(list, nent as usize), Scan::Done),
        |seen| {
            let d = match deadline {
                Some(d) => d,
                None => {
                    let d = suspend_deadline(timeout)?;
                    deadline = Some(d);
                    d
                }
            };
            // Waiting for kernel AIO requests only: sleep in io_getevents,
            // woken by the kernel itself (backend/kaio.rs).
            if let Some((eng, k)) = engine::peek().and_then(|e| e.kaio_ready().map(|k| (e, k))) {
                if kaio_only(&eng.slots, list, nent as usize) {
                    return k.wait_reaping(eng, seen, d.as_ref());
                }
            }
            if wait::spin_until_changed(seen, spin_us) {
                return Ok(());
            }
            stats::add(&C.suspend_waits);
            match wait::wait_cancellable(seen, d.as_ref()) {
                Ok(()) | Err(libc::EAGAIN) => Ok(()),
                Err(libc::ETIMEDOUT) => Err(libc::EAGAIN),
                Err(e) => Err(e),
            }
        },
    )
}

/// `aio_suspend`'s timeout as an absolute deadline (None: for ever).
fn suspend_deadline(timeout: *const libc::timespec) -> Result<Option<libc::timespec>, i32> {
    if timeout.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null, caller-provided.
    let t = unsafe { &*timeout };
    if t.tv_nsec < 0 || t.tv_nsec >= 1_000_000_000 {
        return Err(libc::EINVAL);
    }
    if t.tv_sec < 0 {
        return Err(libc::EAGAIN);
    }
    Ok(Some(sys::deadline_after(t)))
}

/// Try to take a request back before it started. Returns true if cancelled
/// (and completed with ECANCELED, notification sent).
fn try_cancel(eng: &'static Engine, req: Arc<Request>) -> bool {
    use crate::request::QUEUED;
    if req.claim(WAITING, RUNNING) {
        finish(eng, req, -1, libc::ECANCELED, false, true);
        true
    } else if req.claim(QUEUED, RUNNING) {
        finish(eng, req, -1, libc::ECANCELED, true, true);
        true
    } else {
        false
    }
}

/// aio_cancel with glibc's return values.
///
/// # Safety
/// `cb` is null or a readable aiocb.
pub unsafe fn aio_cancel(fd: c_int, cb: *mut Aiocb) -> R<c_int> {
    // SAFETY: fcntl on any int.
    if unsafe { libc::fcntl(fd, libc::F_GETFL) } < 0 {
        return Err(libc::EBADF);
    }
    let eng = engine::peek();
    if !cb.is_null() {
        // SAFETY: non-null user aiocb.
        if unsafe { (*cb).aio_fildes } != fd {
            return Err(libc::EINVAL);
        }
        if error_code(cb).load(Ordering::Acquire) != libc::EINPROGRESS {
            return Ok(AIO_ALLDONE);
        }
        let found = eng.and_then(|e| e.fds.find(fd, cb as usize).map(|r| (e, r)));
        return match found {
            Some((e, req)) => Ok(if try_cancel(e, req) { AIO_CANCELED } else { AIO_NOTCANCELED }),
            None => {
                // Completing right now (results not yet stored) or unknown.
                while in_flight(cb) {
                    std::thread::yield_now();
                }
                if error_code(cb).load(Ordering::Acquire) != libc::EINPROGRESS {
                    Ok(AIO_ALLDONE)
                } else {
                    Err(libc::EINVAL)
                }
            }
        };
    }
    let Some(eng) = eng else { return Ok(AIO_ALLDONE) };
    let (taken, running, any) = eng.fds.cancel_all(fd);
    let cancelled = !taken.is_empty();
    for (r, dispatched) in taken {
        finish(eng, r, -1, libc::ECANCELED, dispatched, true);
    }
    Ok(if running {
        AIO_NOTCANCELED
    } else if cancelled {
        AIO_CANCELED
    } else {
        let _ = any;
        AIO_ALLDONE
    })
}

/// lio_listio. `old`: the GLIBC_2.2.5 version's documented semantics (no
/// per-request events; glibc 2.34+ lost them).
///
/// # Safety
/// `list` has `nent` readable entries; `sig` is null or valid.
pub unsafe fn lio_listio(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *const Sigevent, old: bool) -> R<()> {
    stats::add(&C.lio_calls);
    if mode != LIO_WAIT && mode != LIO_NOWAIT {
        return Err(libc::EINVAL);
    }
    if nent < 0 || (nent > 0 && list.is_null()) {
        return Err(libc::EINVAL);
    }
    let list_event = if sig.is_null() {
        Notify::None
    } else {
        // SAFETY: non-null, caller-provided.
        Notify::from_sigevent(unsafe { &*sig })
    };
    let group = Arc::new(Group {
        remaining: AtomicU32::new(1), // the submitter's bias, dropped below
        failed: AtomicBool::new(false),
        notify: (mode == LIO_NOWAIT).then_some(list_event),
    });
    let mut enqueue_error = None;
    let mut total = 0;
    crate::backend::kaio::batch_begin();
    for i in 0..nent as usize {
        // SAFETY: the caller passes nent readable entries.
        let cb = unsafe { *list.add(i) };
        if cb.is_null() {
            continue;
        }
        // SAFETY: non-null user aiocb.
        let opcode = unsafe { (*cb).aio_lio_opcode };
        if opcode == LIO_NOP {
            continue;
        }
        if old {
            // glibc's compat path writes this into the user's aiocb too.
            unsafe { (*cb).aio_sigevent.sigev_notify = SIGEV_NONE };
        }
        // glibc passes the opcode to its queue as is, and its worker reads
        // (opcode & 127) == LIO_READ/LIO_WRITE (bit 7 marks its *64
        // requests) and compares the whole opcode with its internal
        // LIO_DSYNC (3) and LIO_SYNC (4): those values are an fdatasync
        // and an fsync, with aio_reqprio zeroed.
        let op = match (opcode & 127, opcode) {
            (LIO_READ, _) => Op::Read,
            (LIO_WRITE, _) => Op::Write,
            (_, LIO_DSYNC) => Op::Fdsync,
            (_, LIO_SYNC) => Op::Fsync,
            _ => Op::Invalid,
        };
        group.remaining.fetch_add(1, Ordering::AcqRel);
        // SAFETY: forwarded.
        match unsafe { submit(cb, op, opcode, Some(&group)) } {
            Ok(()) => total += 1,
            Err(e) => {
                group.remaining.fetch_sub(1, Ordering::AcqRel);
                enqueue_error = Some(e);
            }
        }
    }
    crate::backend::kaio::batch_end();
    if total == 0 {
        if mode == LIO_NOWAIT {
            list_event.send();
        }
        return enqueue_error.map_or(Ok(()), Err);
    }
    if mode == LIO_WAIT {
        if group.remaining.fetch_sub(1, Ordering::AcqRel) != 1 {
            wait::wait_zero(&group.remaining)?;
        }
        if enqueue_error.is_some() || group.failed.load(Ordering::Relaxed) {
            return Err(libc::EIO);
        }
        Ok(())
    } else {
        group.done_one(false);
        enqueue_error.map_or(Ok(()), Err)
    }
}

/// aio_init: tunes the pool (before the first request) and idle time.
///
/// # Safety
/// `init` is null or valid.
pub unsafe fn aio_init(init: *const Aioinit) {
    if init.is_null() {
        return;
    }
    // SAFETY: non-null, caller-provided.
    let i = unsafe { &*init };
    config::aio_init(i.aio_threads, i.aio_num, i.aio_idle_time, Engine::started());
}
