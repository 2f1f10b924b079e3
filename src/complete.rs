//! The one completion path, for every backend and for cancellation:
//!
//! 1. per-fd bookkeeping (which may let queued requests start);
//! 2. results into the user's aiocb: `__return_value`, then `__error_code`
//!    with release ordering (that store is what `aio_error` observes, and
//!    after it the user may free or reuse the aiocb: nothing below reads it);
//! 3. the slot tag is released, the completion futex bumped;
//! 4. the request's notification, then its `lio_listio` group;
//! 5. requests unblocked in step 1 are dispatched.
use crate::abi::glibc::Aiocb;
use crate::engine::Engine;
use crate::request::{Request, Route, RUNNING};
use crate::stats::{self, C};
use crate::wait;
use std::sync::atomic::{AtomicI32, AtomicIsize, Ordering};
use std::sync::Arc;

/// Store a result where glibc keeps it.
///
/// # Safety
/// `cb` must be a live aiocb owned by an in-flight request.
pub unsafe fn publish(cb: *mut Aiocb, ret: isize, err: i32) {
    // SAFETY: fields of a live aiocb; accessed atomically because aio_error
    // and aio_return read them concurrently.
    unsafe {
        (*(core::ptr::addr_of_mut!((*cb).__return_value) as *const AtomicIsize)).store(ret, Ordering::Relaxed);
        (*(core::ptr::addr_of_mut!((*cb).__error_code) as *const AtomicI32)).store(err, Ordering::Release);
    }
}

/// Complete `req` with `ret` (bytes, or -1) and `err` (0 or an errno).
/// `dispatched`: the request was counted as started on its fd;
/// `registered`: it is in the per-fd table at all.
pub fn finish(eng: &'static Engine, req: Arc<Request>, ret: isize, err: i32, dispatched: bool, registered: bool) {
    let next = if registered { eng.fds.release(&req, dispatched) } else { Vec::new() };
    let (ret, err) = match req.notify.forced_error() {
        Some(e) => (-1, e),
        None if err != 0 => (-1, err),
        None => (ret, 0),
    };
    req.state.store(crate::request::DONE, Ordering::Release);
    // SAFETY: the aiocb belongs to this in-flight request until this store.
    unsafe { publish(req.cb, ret, err) };
    eng.slots.release(req.tag);
    wait::bump();
    req.notify.send();
    if let Some(g) = &req.group {
        g.done_one(ret == -1);
    }
    stats::add(&C.completed);
    if err == libc::ECANCELED {
        stats::add(&C.cancelled);
    } else if err != 0 {
        stats::add(&C.errors);
    }
    drop(req);
    for r in next {
        dispatch(eng, r);
    }
}

/// Hand a request that may start now to its backend. The request is in
/// state RUNNING (set under the fd lock when it was admitted or released).
pub fn dispatch(eng: &'static Engine, req: Arc<Request>) {
    debug_assert!(req.state() == RUNNING);
    match req.route {
        Route::Kaio => match eng.kaio() {
            Some(k) => k.submit(eng, req),
            None => eng.pool.submit(eng, req),
        },
        Route::Pool => eng.pool.submit(eng, req),
    }
}
