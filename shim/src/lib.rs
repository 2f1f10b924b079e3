//! libaio_shim.so: the POSIX AIO entry points and nothing else.
//!
//! Each export is one line into `aio_engine::ops`; `guard` turns
//! `Err(errno)` into -1 + errno and keeps a panic from crossing into C.
//! Symbols are bound to glibc's version nodes at the bottom of this file
//! (`.symver`, with the node list in `aio_shim.map`): every name is exported
//! under each version glibc exports it with, so every reference a binary can
//! make (`aio_read@GLIBC_2.2.5` from old binaries, `@GLIBC_2.34` from new
//! ones, unversioned from `dlsym`) resolves here. `lio_listio@GLIBC_2.2.5`
//! gets the old semantics, the other two versions the current ones.
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

/// `export!(name => fn, "VERSION" ...)`: an alias of `fn` per version, bound
/// with `.symver` (the first version given is the default, `@@`).
macro_rules! export {
    ($name:literal => $f:ident, $default:literal $(, $old:literal)*) => {
        std::arch::global_asm!(
            concat!(".globl __aio_shim_", $name, "_default"),
            concat!(".type __aio_shim_", $name, "_default, @function"),
            concat!(".set __aio_shim_", $name, "_default, {f}"),
            concat!(".symver __aio_shim_", $name, "_default, ", $name, "@@", $default),
            $(
                concat!(".globl __aio_shim_", $name, "_", $old),
                concat!(".type __aio_shim_", $name, "_", $old, ", @function"),
                concat!(".set __aio_shim_", $name, "_", $old, ", {f}"),
                concat!(".symver __aio_shim_", $name, "_", $old, ", ", $name, "@", $old),
            )*
            f = sym $f,
        );
    };
}

export!("aio_read" => aio_read, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_read64" => aio_read, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_write" => aio_write, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_write64" => aio_write, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_fsync" => aio_fsync, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_fsync64" => aio_fsync, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_error" => aio_error, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_error64" => aio_error, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_return" => aio_return, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_return64" => aio_return, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_suspend" => aio_suspend, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_suspend64" => aio_suspend, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_cancel" => aio_cancel, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_cancel64" => aio_cancel, "GLIBC_2.34", "GLIBC_2.2.5");
export!("aio_init" => aio_init, "GLIBC_2.34", "GLIBC_2.2.5");
export!("lio_listio" => lio_listio, "GLIBC_2.34", "GLIBC_2.4");
export!("lio_listio64" => lio_listio, "GLIBC_2.34", "GLIBC_2.4");

// The pre-2.4 lio_listio: a non-default version only.
std::arch::global_asm!(
    ".globl __aio_shim_lio_listio_old",
    ".type __aio_shim_lio_listio_old, @function",
    ".set __aio_shim_lio_listio_old, {f}",
    ".symver __aio_shim_lio_listio_old, lio_listio@GLIBC_2.2.5",
    ".globl __aio_shim_lio_listio64_old",
    ".type __aio_shim_lio_listio64_old, @function",
    ".set __aio_shim_lio_listio64_old, {f}",
    ".symver __aio_shim_lio_listio64_old, lio_listio64@GLIBC_2.2.5",
    f = sym lio_listio_old,
);
