//! Native kernel AIO: `io_submit` for O_DIRECT reads and writes on regular
//! files and block devices, completions reaped by one thread
//! (`aio-shim-kaio`) blocked in `io_getevents`.
//!
//! The context is created on first use with `config::maxevents()` slots.
//! When the ring is full (or `io_submit` says EAGAIN) requests wait in
//! `pending`, in order, and the reaper submits them as slots free up; a
//! pending request can still be cancelled. If `io_setup` fails (e.g.
//! `fs.aio-max-nr` exhausted) the engine has no `Kaio` and everything goes
//! to the pool. If the kernel refuses a request (EINVAL, EOPNOTSUPP: a file
//! system without AIO support) it is re-routed to the pool.
//!
//! Locks: `pending` guards the overflow queue only. The iocb of a request
//! is written by the submitter before `io_submit` and never again.
use crate::abi::kernel::{AioContext, IoEvent, Iocb, IOCB_CMD_PREAD, IOCB_CMD_PWRITE};
use crate::complete::finish;
use crate::engine::Engine;
use crate::request::{Op, Request, QUEUED, RUNNING};
use crate::stats::{self, C};
use crate::{config, log, sys, threads};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

pub struct Kaio {
    ctx: AioContext,
    nr: u32,
    inflight: AtomicU32,
    pending: Mutex<VecDeque<Arc<Request>>>,
    has_pending: AtomicBool,
    reaper_started: AtomicBool,
}

impl Kaio {
    /// Set up a context, or None (logged, counted) when the kernel says no.
    pub fn setup() -> Option<Kaio> {
        let nr = config::maxevents();
        match sys::io_setup(nr) {
            Ok(ctx) => Some(Kaio {
                ctx,
                nr,
                inflight: AtomicU32::new(0),
                pending: Mutex::new(VecDeque::new()),
                has_pending: AtomicBool::new(false),
                reaper_started: AtomicBool::new(false),
            }),
            Err(e) => {
                log::warn(format_args!(
                    "io_setup({nr}) failed (errno {e}); kernel AIO unavailable, using worker threads"
                ));
                None
            }
        }
    }

    /// Start the reaper once the Kaio has its final ('static) address.
    pub fn start(&'static self, eng: &'static Engine) -> bool {
        if self.reaper_started.swap(true, Ordering::AcqRel) {
            return true;
        }
        match threads::spawn("aio-shim-kaio", 256 << 10, move || self.reap(eng)) {
            Ok(()) => true,
            Err(e) => {
                log::warn(format_args!("cannot start the kernel AIO reaper: {e}"));
                false
            }
        }
    }

    pub fn submit(&self, eng: &'static Engine, req: Arc<Request>) {
        if self.has_pending.load(Ordering::Acquire) || self.inflight.load(Ordering::Acquire) >= self.nr {
            self.park(req);
            return;
        }
        self.submit_now(eng, req);
    }

    fn park(&self, req: Arc<Request>) {
        stats::add(&C.kaio_ring_full);
        req.state.store(QUEUED, Ordering::Release);
        let mut p = self.pending.lock();
        p.push_back(req);
        self.has_pending.store(true, Ordering::Release);
    }

    fn submit_now(&self, eng: &'static Engine, req: Arc<Request>) {
        let opcode = match req.op {
            Op::Read => IOCB_CMD_PREAD,
            Op::Write => IOCB_CMD_PWRITE,
            _ => return eng.pool.submit(eng, req),
        };
        let raw = Arc::into_raw(req.clone());
        let iocb = req.iocb.get();
        // SAFETY: the iocb is ours while the request is RUNNING and not yet
        // submitted; the Arc leaked into aio_data keeps it alive until reaped.
        unsafe {
            *iocb = Iocb {
                aio_data: raw as u64,
                aio_lio_opcode: opcode,
                aio_fildes: req.fd as u32,
                aio_buf: req.buf as u64,
                aio_nbytes: req.nbytes as u64,
                aio_offset: req.offset,
                ..Iocb::default()
            };
        }
        self.inflight.fetch_add(1, Ordering::AcqRel);
        // SAFETY: iocb stays valid (inside the leaked Arc) until reaped.
        match unsafe { sys::io_submit(self.ctx, &[iocb]) } {
            Ok(1) => stats::add(&C.kaio),
            other => {
                self.inflight.fetch_sub(1, Ordering::AcqRel);
                // SAFETY: the kernel did not take the request: reclaim the Arc.
                drop(unsafe { Arc::from_raw(raw) });
                match other {
                    Err(libc::EAGAIN) | Ok(_) => self.park(req),
                    Err(e @ (libc::EBADF | libc::EFAULT)) => finish(eng, req, -1, e, true, true),
                    Err(e) => {
                        stats::add(&C.fallback_kaio_submit);
                        log::debug(format_args!("io_submit refused fd {} (errno {e}); using a worker", req.fd));
                        eng.pool.submit(eng, req)
                    }
                }
            }
        }
    }

    fn drain_pending(&self, eng: &'static Engine) {
        loop {
            if self.inflight.load(Ordering::Acquire) >= self.nr {
                return;
            }
            let req = {
                let mut p = self.pending.lock();
                match p.pop_front() {
                    Some(r) => r,
                    None => {
                        self.has_pending.store(false, Ordering::Release);
                        return;
                    }
                }
            };
            if req.claim(QUEUED, RUNNING) {
                self.submit_now(eng, req);
            }
        }
    }

    fn reap(&self, eng: &'static Engine) {
        let mut events = vec![IoEvent::default(); 256];
        let short = libc::timespec { tv_sec: 0, tv_nsec: 1_000_000 };
        let long = libc::timespec { tv_sec: 0, tv_nsec: 200_000_000 };
        loop {
            let t = if self.has_pending.load(Ordering::Acquire) { &short } else { &long };
            match sys::io_getevents(self.ctx, 1, &mut events, Some(t)) {
                Ok(n) => {
                    for ev in &events[..n] {
                        // SAFETY: aio_data is the Arc leaked in submit_now.
                        let req = unsafe { Arc::from_raw(ev.data as *const Request) };
                        self.inflight.fetch_sub(1, Ordering::AcqRel);
                        let (ret, err) = if ev.res < 0 { (-1, (-ev.res) as i32) } else { (ev.res as isize, 0) };
                        finish(eng, req, ret, err, true, true);
                    }
                }
                Err(libc::EINTR) => {}
                Err(e) => {
                    log::warn(format_args!("io_getevents failed: errno {e}"));
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            if self.has_pending.load(Ordering::Acquire) {
                self.drain_pending(eng);
            }
        }
    }
}

impl Drop for Kaio {
    fn drop(&mut self) {
        sys::io_destroy(self.ctx);
    }
}
