//! The one completion path, for every backend and for cancellation:
//!
//! 1. per-fd bookkeeping (which may let queued requests start);
//! 2. `__return_value` is stored;
//! 3. signal notifications (SIGEV_SIGNAL, SIGEV_THREAD_ID, and the list
//!    signal of a LIO_NOWAIT batch whose last request this is) are queued
//!    *before* the result becomes visible: glibc stores the result and
//!    signals under the lock that `aio_error`, `aio_suspend` and
//!    `lio_listio(LIO_WAIT)` take, so a program that sees a request done may
//!    rely on its signal being pending. Meanwhile the slot is marked
//!    "completing" and `aio_error` waits that window out, so a handler that
//!    runs at once on another thread still sees the result. When this runs
//!    on a user thread (aio_cancel, a submit-time failure), its signals are
//!    blocked through the window so a handler cannot run inside it. A
//!    request completed inside its own `aio_read` (a page-cache hit) is
//!    published first and signalled after: nobody can have seen it in
//!    flight, and the handler, which may run on this very thread, must
//!    find the result; that saves the two sigprocmask calls;
//! 4. `__error_code` with release ordering (what `aio_error` observes;
//!    after it the user may free or reuse the aiocb: nothing below reads it);
//! 5. the slot tag is released, the completion futex bumped;
//! 6. SIGEV_THREAD notifications, then the LIO_WAIT caller's wake-up;
//! 7. requests unblocked in step 1 are dispatched.
use crate::abi::glibc::Aiocb;
use crate::backend::nowait;
use crate::engine::Engine;
use crate::request::{Request, Route, RUNNING};
use crate::stats::{self, C};
use crate::threads;
use crate::wait;
use crate::protocol::Words;
use std::sync::atomic::{AtomicI32, AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;

/// The aiocb's words shared with the lock-free readers (protocol.rs).
/// `cb` must be non-null and kept alive by the user (a request's aiocb,
/// or one passed to aio_error/aio_return/aio_suspend).
pub(crate) fn words(cb: *const Aiocb) -> Words<'static> {
    // SAFETY: fields of a live aiocb, accessed atomically because the
    // readers run concurrently; __next_prio is 8-aligned.
    unsafe {
        Words {
            err: &*(core::ptr::addr_of!((*cb).__error_code) as *const AtomicI32),
            ret: &*(core::ptr::addr_of!((*cb).__return_value) as *const AtomicIsize),
            tag: &*(core::ptr::addr_of!((*cb).__next_prio) as *const AtomicU64),
        }
    }
}

/// Complete `req` with `ret` (bytes, or -1) and `err` (0 or an errno).
/// `dispatched`: the request was counted as started on its fd;
/// `registered`: it is in the per-fd table at all.
pub fn finish(eng: &'static Engine, req: Arc<Request>, ret: isize, err: i32, dispatched: bool, registered: bool) {
    let next = if registered {
        eng.fds.publishing(req.fd);
        eng.fds.release(&req, dispatched)
    } else {
        Vec::new()
    };
    let (ret, err) = match req.notify.forced_error() {
        Some(e) => (-1, e),
        None if err != 0 => (-1, err),
        None => (ret, 0),
    };
    req.state.store(crate::request::DONE, Ordering::Release);
    // Counted before the result is visible: a program that exits as soon
    // as it sees it must find it counted in its report.
    stats::add(&C.completed);
    if err == libc::ECANCELED {
        stats::add(&C.cancelled);
    } else if err != 0 {
        stats::add(&C.errors);
    }

    // The request's own signal goes before it is counted in its list, so
    // the list signal is always the last of a batch's signals.
    let group = req.group.as_deref();
    let list_event = group.filter(|g| g.has_event());
    // Built before the window (getpid, getuid), so that the window holds
    // only the syscall that queues it.
    let signal = req.notify.ready();
    let signals = || {
        signal.send();
        if let Some(g) = list_event {
            if g.count_one(ret == -1) {
                g.last_done();
            }
        }
    };
    // Completing inside the submitting call (a page-cache hit): nobody can
    // have seen the request in flight yet, and a handler that runs on this
    // thread after the signal must find the result: publish, then signal.
    let in_submit = threads::submitting();
    let early = (req.notify.is_signal() || list_event.is_some()) && !in_submit;
    let blocked = (early && !threads::is_internal()).then(threads::SignalsBlocked::new);
    // The aiocb belongs to this in-flight request until its error code is
    // stored, inside `complete`.
    words(req.cb).complete(&eng.slots, req.tag, ret, err, early.then_some(signals));
    if registered {
        eng.fds.published(req.fd);
    }
    drop(blocked);
    wait::bump();
    if in_submit {
        signals();
    }

    if !req.notify.is_signal() {
        req.notify.send();
    }
    if let Some(g) = group {
        if !g.has_event() {
            g.done_one(ret == -1);
        }
    }
    drop(req);
    for r in next {
        dispatch(eng, r);
    }
}

/// A kernel AIO request whose result a waiter already published in
/// `aio_suspend` (backend/kaio.rs: `simple`, so no notification and no
/// list): what is left of `finish` is the bookkeeping that takes locks.
pub fn after_published(eng: &'static Engine, req: Arc<Request>) {
    let next = eng.fds.release(&req, true);
    eng.slots.release(req.tag);
    drop(req);
    for r in next {
        dispatch(eng, r);
    }
}

/// Hand a request that may start now to its backend. The request is in
/// state RUNNING (set under the fd lock when it was admitted or released).
///
/// A `Nowait` request may complete right here. That never recurses deeply:
/// only non-exclusive requests take that route, and their completion frees
/// at most the one barrier waiting behind them, which goes to the pool.
pub fn dispatch(eng: &'static Engine, req: Arc<Request>) {
    debug_assert!(req.state() == RUNNING);
    match req.route {
        Route::Kaio => match eng.kaio() {
            Some(k) => k.submit(eng, req),
            None => eng.pool.submit(eng, req),
        },
        Route::Nowait => to_normal_path(eng, req),
        Route::Twin => {
            if let Err(req) = eng.twins.submit(eng, req) {
                to_normal_path(eng, req)
            }
        }
        Route::Uring => to_uring(eng, req),
        Route::Pool => eng.pool.submit(eng, req),
    }
}

/// A buffered read or write the usual way: the page cache at once if it
/// can (RWF_NOWAIT), else what serves blocking requests. One with a signal
/// notification goes to the pool from any thread. Served in a program's
/// thread (`aio_read`, `lio_listio`, `aio_cancel`), its handler would run
/// inside that call (route.rs), and stress-ng --aio (every request
/// SIGEV_SIGNAL) ran at 0.54x of glibc. Served at once by the worker
/// that released it (from behind an `aio_fsync`), it ran at 0.95x of
/// glibc, against 1.08x through the pool's queue (5 alternated runs).
pub fn to_normal_path(eng: &'static Engine, req: Arc<Request>) {
    if req.notify.is_signal() {
        stats::add(&C.fallback_signal);
        return eng.pool.submit(eng, req);
    }
    match nowait::attempt(&req) {
        nowait::Outcome::Done(n) => finish(eng, req, n, 0, true, true),
        nowait::Outcome::Partial(n) => {
            req.progress.store(n, Ordering::Relaxed);
            eng.pool.submit(eng, req)
        }
        nowait::Outcome::WouldBlock | nowait::Outcome::NotSeekable => eng.pool.submit(eng, req),
    }
}

fn to_uring(eng: &'static Engine, req: Arc<Request>) {
    match eng.uring() {
        Some(u) => {
            if let Err(req) = u.submit(req) {
                eng.pool.submit(eng, req)
            }
        }
        None => eng.pool.submit(eng, req),
    }
}
