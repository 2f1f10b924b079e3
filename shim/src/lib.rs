//! libaio_shim_engine.so: the POSIX AIO entry points of the engine, and
//! nothing else.
//!
//! The preloaded libaio_shim.so is a small stub (shim/stub.rs) that loads
//! this library at a process's first AIO call and jumps to the functions in
//! the table at the bottom of this file (layout in shim/table.rs); it is the
//! stub that exports glibc's names and versions. A process that never calls
//! AIO never maps this library (nor std, nor libgcc_s).
//!
//! Each entry is one line into `aio_engine::ops`; `guard` turns
//! `Err(errno)` into -1 + errno and keeps a panic from crossing into C.
#![allow(clippy::missing_safety_doc)]
use aio_engine::abi::glibc::{Aiocb, Aioinit, Sigevent};
use aio_engine::{ops, stats, sys};
use libc::{c_int, ssize_t, timespec};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn guard<T>(fail: T, f: impl FnOnce() -> Result<T, i32>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            sys::set_errno(e);
            fail
        }
        Err(_) => {
            sys::set_errno(libc::EIO);
            fail
        }
    }
}

unsafe extern "C" fn aio_read(cb: *mut Aiocb) -> c_int {
    stats::entry();
    guard(-1, || unsafe { ops::aio_read(cb) }.map(|()| 0))
}

unsafe extern "C" fn aio_write(cb: *mut Aiocb) -> c_int {
    stats::entry();
    guard(-1, || unsafe { ops::aio_write(cb) }.map(|()| 0))
}

unsafe extern "C" fn aio_fsync(op: c_int, cb: *mut Aiocb) -> c_int {
    stats::entry();
    guard(-1, || unsafe { ops::aio_fsync(op, cb) }.map(|()| 0))
}

/// Async-signal-safe: counts the call, then one atomic load.
unsafe extern "C" fn aio_error(cb: *const Aiocb) -> c_int {
    stats::count();
    guard(-1, || ops::aio_error(cb))
}

/// Async-signal-safe: counts the call, then two atomic loads.
unsafe extern "C" fn aio_return(cb: *mut Aiocb) -> ssize_t {
    stats::count();
    guard(-1, || ops::aio_return(cb))
}

/// Async-signal-safe and a cancellation point. "C-unwind" and no
/// catch_unwind: thread cancellation unwinds through this frame.
unsafe extern "C-unwind" fn aio_suspend(list: *const *const Aiocb, nent: c_int, timeout: *const timespec) -> c_int {
    stats::count();
    match unsafe { ops::aio_suspend(list, nent, timeout) } {
        Ok(()) => 0,
        Err(e) => {
            sys::set_errno(e);
            -1
        }
    }
}

unsafe extern "C" fn aio_cancel(fd: c_int, cb: *mut Aiocb) -> c_int {
    stats::entry();
    guard(-1, || unsafe { ops::aio_cancel(fd, cb) })
}

unsafe extern "C" fn lio_listio(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *const Sigevent) -> c_int {
    stats::entry();
    guard(-1, || unsafe { ops::lio_listio(mode, list, nent, sig, false) }.map(|()| 0))
}

/// `lio_listio@GLIBC_2.2.5`: no per-request events, LIO_WAIT really waits.
unsafe extern "C" fn lio_listio_old(mode: c_int, list: *const *mut Aiocb, nent: c_int, sig: *const Sigevent) -> c_int {
    stats::entry();
    guard(-1, || unsafe { ops::lio_listio(mode, list, nent, sig, true) }.map(|()| 0))
}

unsafe extern "C" fn aio_init(init: *const Aioinit) {
    stats::entry();
    guard((), || {
        unsafe { ops::aio_init(init) };
        Ok(())
    })
}

include!("../table.rs");

const _: () = assert!(core::mem::offset_of!(Aiocb, __error_code) == AIOCB_ERROR_CODE_AT);
const _: () = assert!(core::mem::offset_of!(Aiocb, __return_value) == AIOCB_RETURN_VALUE_AT);

struct Table(EngineTable);
// SAFETY: a table of function pointers, never written.
unsafe impl Sync for Table {}

static TABLE: Table = Table(EngineTable {
    abi: ENGINE_ABI,
    size: core::mem::size_of::<EngineTable>() as u32,
    entries: {
        let mut e = [core::ptr::null::<()>(); ENTRIES];
        e[E_READ] = aio_read as *const ();
        e[E_WRITE] = aio_write as *const ();
        e[E_FSYNC] = aio_fsync as *const ();
        e[E_ERROR] = aio_error as *const ();
        e[E_RETURN] = aio_return as *const ();
        e[E_SUSPEND] = aio_suspend as *const ();
        e[E_CANCEL] = aio_cancel as *const ();
        e[E_LIO_LISTIO] = lio_listio as *const ();
        e[E_LIO_LISTIO_OLD] = lio_listio_old as *const ();
        e[E_INIT] = aio_init as *const ();
        e
    },
    attach: attach as *const (),
});

/// The stub's RLIMIT_FSIZE change count (see aio_engine::sys::beyond_fsize).
extern "C" fn attach(fsize_gen: *const core::sync::atomic::AtomicU32) {
    aio_engine::sys::attach_fsize_gen(fsize_gen);
}

/// The engine's one export: what libaio_shim.so (shim/stub.rs) looks up
/// after it has loaded this library, at a process's first AIO call.
#[no_mangle]
pub extern "C" fn aio_shim_engine_v1() -> *const EngineTable {
    &TABLE.0
}
