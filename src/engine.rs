//! The global state, built on the first AIO call and never before (a
//! process that never calls AIO gets no thread, no fd, no allocation).
//!
//! `ENGINE` is a pointer to a leaked `Engine`; `INIT` is the state machine
//! that builds it (0 none, 1 building, 2 ready). In a forked child the
//! atfork handler drops the pointer (leaking the parent's engine, whose
//! threads and kernel context do not exist in the child): the child starts
//! clean and builds its own on its next call. glibc's child instead hangs
//! on any fd its parent had busy.
use crate::backend::kaio::Kaio;
use crate::backend::pool::Pool;
use crate::backend::twin::Twins;
use crate::backend::uring::Uring;
use crate::fdq::FdTable;
use crate::slots::Slots;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
use std::sync::OnceLock;

pub struct Engine {
    pub fds: FdTable,
    pub slots: Slots,
    pub pool: Pool,
    pub twins: Twins,
    kaio: OnceLock<Option<Kaio>>,
    /// The current io_uring (leaked; replaced when the program closed its
    /// fd, see backend/uring.rs), and whether it proved unavailable.
    uring: AtomicPtr<Uring>,
    uring_unavailable: AtomicBool,
    uring_init: parking_lot::Mutex<()>,
}

static ENGINE: AtomicPtr<Engine> = AtomicPtr::new(core::ptr::null_mut());
static INIT: AtomicU8 = AtomicU8::new(0);
static ATFORK: AtomicBool = AtomicBool::new(false);

extern "C" fn atfork_child() {
    // The child inherited the ring fd (not the ring's users): close it if
    // it is still ours, so it cannot leak into what the child runs.
    if let Some(u) = peek().and_then(|e| {
        let p = e.uring.load(Ordering::Acquire);
        // SAFETY: rings are leaked, never freed.
        (!p.is_null()).then(|| unsafe { &*p })
    }) {
        if u.fd_is_ours() {
            // SAFETY: closing the child's copy of our own fd.
            unsafe { libc::close(u.fd()) };
        }
    }
    ENGINE.store(core::ptr::null_mut(), Ordering::Release);
    INIT.store(0, Ordering::Release);
    crate::stats::reset_after_fork();
}

/// The engine if it exists (lock-free; for the signal-safe paths).
#[inline]
pub fn peek() -> Option<&'static Engine> {
    let p = ENGINE.load(Ordering::Acquire);
    // SAFETY: once published, an engine is never freed.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// The engine, built on first use.
pub fn get() -> &'static Engine {
    if let Some(e) = peek() {
        return e;
    }
    loop {
        match INIT.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                if !ATFORK.swap(true, Ordering::AcqRel) {
                    // SAFETY: registering a plain extern "C" fn.
                    unsafe { libc::pthread_atfork(None, None, Some(atfork_child)) };
                }
                let e: &'static Engine = Box::leak(Box::new(Engine {
                    fds: FdTable::new(),
                    slots: Slots::new(),
                    pool: Pool::default(),
                    twins: Twins::default(),
                    kaio: OnceLock::new(),
                    uring: AtomicPtr::new(core::ptr::null_mut()),
                    uring_unavailable: AtomicBool::new(false),
                    uring_init: parking_lot::Mutex::new(()),
                }));
                ENGINE.store(e as *const Engine as *mut Engine, Ordering::Release);
                INIT.store(2, Ordering::Release);
                crate::log::debug(format_args!("pid {}: engine started", unsafe { libc::getpid() }));
                return e;
            }
            Err(_) => {
                if let Some(e) = peek() {
                    return e;
                }
                std::thread::yield_now();
            }
        }
    }
}

impl Engine {
    /// Kernel AIO, set up on the first request that wants it; None when the
    /// kernel refuses (the pool serves instead).
    pub fn kaio(&'static self) -> Option<&'static Kaio> {
        let k = self.kaio.get_or_init(Kaio::setup).as_ref()?;
        k.start(self).then_some(k)
    }

    /// Kernel AIO if it is already up (never sets it up, never blocks:
    /// for `aio_suspend` and the submission paths' housekeeping).
    pub fn kaio_ready(&'static self) -> Option<&'static Kaio> {
        self.kaio.get().and_then(|k| k.as_ref())
    }

    /// io_uring, set up on the first request that wants it and rebuilt if
    /// the program closed its fd; None when the kernel refuses.
    pub fn uring(&'static self) -> Option<&'static Uring> {
        let current = || {
            let p = self.uring.load(Ordering::Acquire);
            // SAFETY: rings are leaked, never freed.
            (!p.is_null()).then(|| unsafe { &*p }).filter(|u| !u.is_lost())
        };
        if let Some(u) = current() {
            return Some(u);
        }
        if self.uring_unavailable.load(Ordering::Acquire) {
            return None;
        }
        let _g = self.uring_init.lock();
        if let Some(u) = current() {
            return Some(u);
        }
        match Uring::setup() {
            Some(u) => {
                let u: &'static Uring = Box::leak(Box::new(u));
                if !u.start(self) {
                    self.uring_unavailable.store(true, Ordering::Release);
                    return None;
                }
                self.uring.store(u as *const Uring as *mut Uring, Ordering::Release);
                Some(u)
            }
            None => {
                self.uring_unavailable.store(true, Ordering::Release);
                None
            }
        }
    }

    pub fn started() -> bool {
        peek().is_some()
    }
}
