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
//! Completions are read straight from the completion ring the kernel maps
//! at the context's address (as libaio does: the reaper is the ring's only
//! consumer); `io_getevents` is called only to sleep when the ring is empty.
//!
//! `lio_listio` submits its O_DIRECT requests in one `io_submit` (a
//! per-thread batch). `aio_reqprio` > 0 lowers a request's I/O priority
//! (`IOCB_FLAG_IOPRIO`, best-effort levels 5 to 7).
//!
//! Locks: `pending` guards the overflow queue only. The iocb of a request
//! is written by the submitter before `io_submit` and never again.
use crate::abi::kernel::{AioContext, IoEvent, Iocb, IOCB_CMD_PREAD, IOCB_CMD_PWRITE, IOCB_FLAG_IOPRIO};
use crate::complete::finish;
use crate::engine::Engine;
use crate::request::{Op, Request, QUEUED, RUNNING};
use crate::stats::{self, C};
use crate::{config, log, sys, threads};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

thread_local! {
    /// Requests a `lio_listio` on this thread collects for one io_submit.
    static BATCH: RefCell<Option<Vec<Arc<Request>>>> = const { RefCell::new(None) };
}

/// From here on, this thread's kernel AIO submissions are collected...
pub fn batch_begin() {
    BATCH.with(|b| *b.borrow_mut() = Some(Vec::new()));
}

/// ...and submitted here, in one `io_submit`.
pub fn batch_end() {
    let reqs = BATCH.with(|b| b.borrow_mut().take()).unwrap_or_default();
    if reqs.is_empty() {
        return;
    }
    let eng = crate::engine::get();
    match eng.kaio() {
        Some(k) => k.flush(eng, reqs),
        None => reqs.into_iter().for_each(|r| eng.pool.submit(eng, r)),
    }
}

/// `aio_reqprio` lowers the request's I/O priority (glibc only lowers its
/// helper thread's CPU priority): best-effort class, one level lower per
/// unit above the default level 4, down to 7. None for 0 (the default).
pub fn ioprio(reqprio: i32) -> Option<i16> {
    const IOPRIO_CLASS_BE: i16 = 2;
    (reqprio > 0).then(|| (IOPRIO_CLASS_BE << 13) | (4 + reqprio.min(3)) as i16)
}

/// Write `req`'s kernel iocb (the request's own fd and buffer, or the O_DIRECT
/// twin's, backend/twin.rs) with its I/O priority, leaking an Arc into
/// `aio_data` that the reaper takes back.
pub fn fill_iocb(req: &Arc<Request>, opcode: u16, fd: i32, buf: u64, offset: i64, len: u64) -> *mut Iocb {
    let raw = Arc::into_raw(req.clone());
    let iocb = req.iocb.get();
    let (flags, prio) = match ioprio(req.reqprio) {
        Some(p) => (IOCB_FLAG_IOPRIO, p),
        None => (0, 0),
    };
    // SAFETY: the iocb is ours while the request is RUNNING and not yet
    // submitted; the Arc leaked into aio_data keeps it alive until reaped.
    unsafe {
        *iocb = Iocb {
            aio_data: raw as u64,
            aio_lio_opcode: opcode,
            aio_reqprio: prio,
            aio_fildes: fd as u32,
            aio_buf: buf,
            aio_nbytes: len,
            aio_offset: offset,
            aio_flags: flags,
            ..Iocb::default()
        };
    }
    iocb
}

/// The header of the kernel's AIO completion ring (`struct aio_ring` in
/// fs/aio.c), mapped at the context address; `io_event`s follow it.
#[repr(C)]
struct AioRing {
    id: u32,
    nr: u32,
    head: AtomicU32,
    tail: AtomicU32,
    magic: u32,
    compat_features: u32,
    incompat_features: u32,
    header_length: u32,
}
const AIO_RING_MAGIC: u32 = 0xa10a10a1;

// SAFETY: `ring` points into the kernel's mapping of the context, valid for
// the Kaio's life; only the reaper reads events and moves `head`.
unsafe impl Send for Kaio {}
unsafe impl Sync for Kaio {}

pub struct Kaio {
    ctx: AioContext,
    /// The mapped ring, when its header is one we understand.
    ring: Option<*const AioRing>,
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
                ring: {
                    let r = ctx as *const AioRing;
                    // SAFETY: io_setup maps the ring at ctx, readable.
                    let ok = unsafe { (*r).magic == AIO_RING_MAGIC && (*r).incompat_features == 0 && (*r).header_length as usize == core::mem::size_of::<AioRing>() };
                    ok.then_some(r)
                },
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
        let batched = BATCH.with(|b| b.borrow().as_ref().map_or(0, |v| v.len())) as u32;
        if self.has_pending.load(Ordering::Acquire) || self.inflight.load(Ordering::Acquire) + batched >= self.nr {
            self.park(req);
            return;
        }
        if let Some(req) = BATCH.with(|b| match b.borrow_mut().as_mut() {
            Some(v) => {
                v.push(req);
                None
            }
            None => Some(req),
        }) {
            self.submit_now(eng, req);
        }
    }

    /// Submit one prepared iocb (the twin thread's): counted in flight,
    /// Err(errno) if the ring is full or the kernel refuses it.
    pub fn submit_raw(&self, iocb: *mut Iocb) -> Result<(), i32> {
        if self.has_pending.load(Ordering::Acquire) || self.inflight.load(Ordering::Acquire) >= self.nr {
            return Err(libc::EAGAIN);
        }
        self.inflight.fetch_add(1, Ordering::AcqRel);
        // SAFETY: the caller keeps the iocb alive until it is reaped.
        match unsafe { sys::io_submit(self.ctx, &[iocb]) } {
            Ok(1) => Ok(()),
            r => {
                self.inflight.fetch_sub(1, Ordering::AcqRel);
                Err(r.err().unwrap_or(libc::EAGAIN))
            }
        }
    }

    /// Submit what this thread batched since `batch_begin` in one
    /// `io_submit`; anything the kernel did not take goes one by one.
    fn flush(&self, eng: &'static Engine, reqs: Vec<Arc<Request>>) {
        let mut iocbs = Vec::with_capacity(reqs.len());
        let mut rest = Vec::new();
        for req in reqs {
            match self.prepare(&req) {
                Some(p) => iocbs.push((p, req)),
                None => rest.push(req),
            }
        }
        let ptrs: Vec<*mut Iocb> = iocbs.iter().map(|(p, _)| *p).collect();
        self.inflight.fetch_add(ptrs.len() as u32, Ordering::AcqRel);
        // SAFETY: each iocb lives in its request, kept alive by the Arc
        // leaked into aio_data until reaped.
        let taken = if ptrs.is_empty() { 0 } else { unsafe { sys::io_submit(self.ctx, &ptrs) }.unwrap_or(0) };
        for _ in 0..taken {
            stats::add(&C.kaio);
        }
        for (p, req) in iocbs.into_iter().skip(taken) {
            self.inflight.fetch_sub(1, Ordering::AcqRel);
            // SAFETY: not taken by the kernel: reclaim the leaked Arc.
            drop(unsafe { Arc::from_raw((*p).aio_data as *const Request) });
            rest.push(req);
        }
        for req in rest {
            self.submit_now(eng, req);
        }
    }

    /// Fill in `req`'s iocb and leak an Arc into it; None for a request
    /// kernel AIO cannot express (the caller routes it).
    fn prepare(&self, req: &Arc<Request>) -> Option<*mut Iocb> {
        let opcode = match req.op {
            Op::Read => IOCB_CMD_PREAD,
            Op::Write if req.offset >= 0 && sys::beyond_fsize(req.offset as u64 + req.nbytes as u64) => return None,
            Op::Write => IOCB_CMD_PWRITE,
            _ => return None,
        };
        Some(fill_iocb(req, opcode, req.fd, req.buf as u64, req.offset, req.nbytes as u64))
    }

    fn park(&self, req: Arc<Request>) {
        stats::add(&C.kaio_ring_full);
        req.state.store(QUEUED, Ordering::Release);
        let mut p = self.pending.lock();
        p.push_back(req);
        self.has_pending.store(true, Ordering::Release);
    }

    fn submit_now(&self, eng: &'static Engine, req: Arc<Request>) {
        let Some(iocb) = self.prepare(&req) else { return eng.pool.submit(eng, req) };
        // SAFETY: prepare leaked this Arc into the iocb.
        let raw = unsafe { (*iocb).aio_data } as *const Request;
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
                // It waited: the program may have closed the fd or put a
                // pipe on its number since, and io_submit on a pipe would
                // block this thread (and every request behind it).
                let still_file = crate::route::FdInfo::identity(req.fd)
                    .is_ok_and(|(mode, _)| matches!(mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFBLK));
                if still_file {
                    self.submit_now(eng, req);
                } else {
                    eng.pool.submit(eng, req);
                }
            }
        }
    }

    /// Take up to `out.len()` events from the mapped ring without a
    /// syscall. Only the reaper calls this (single consumer).
    fn ring_reap(&self, out: &mut [IoEvent]) -> usize {
        let Some(r) = self.ring else { return 0 };
        // SAFETY: the ring stays mapped for the context's life (never
        // destroyed while the engine lives); events follow the header.
        unsafe {
            let nr = (*r).nr;
            let head = (*r).head.load(Ordering::Relaxed) % nr;
            let tail = (*r).tail.load(Ordering::Acquire) % nr;
            if head == tail {
                return 0;
            }
            let avail = if tail > head { tail - head } else { nr - head };
            let n = (avail as usize).min(out.len());
            let events = (r as *const u8).add(core::mem::size_of::<AioRing>()) as *const IoEvent;
            core::ptr::copy_nonoverlapping(events.add(head as usize), out.as_mut_ptr(), n);
            (*r).head.store((head + n as u32) % nr, Ordering::Release);
            n
        }
    }

    /// With requests in flight, poll the ring for up to `budget` before
    /// sleeping in the kernel: a completion caught here costs no wake-up.
    fn spin(&self, out: &mut [IoEvent], budget: std::time::Duration) -> usize {
        if budget.is_zero() || self.inflight.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let start = std::time::Instant::now();
        loop {
            for _ in 0..32 {
                core::hint::spin_loop();
            }
            let n = self.ring_reap(out);
            if n > 0 || start.elapsed() >= budget {
                return n;
            }
        }
    }

    fn reap(&self, eng: &'static Engine) {
        let mut events = vec![IoEvent::default(); 256];
        let short = libc::timespec { tv_sec: 0, tv_nsec: 1_000_000 };
        let long = libc::timespec { tv_sec: 0, tv_nsec: 200_000_000 };
        let spin = std::time::Duration::from_micros(config::get().spin_us as u64);
        loop {
            let t = if self.has_pending.load(Ordering::Acquire) { &short } else { &long };
            let got = match self.ring_reap(&mut events) {
                0 => match self.spin(&mut events, spin) {
                    0 => sys::io_getevents(self.ctx, 1, &mut events, Some(t)),
                    n => Ok(n),
                },
                n => Ok(n),
            };
            match got {
                Ok(n) => {
                    let _batch = crate::wait::Batch::new();
                    for ev in &events[..n] {
                        // SAFETY: aio_data is the Arc leaked in submit_now.
                        let req = unsafe { Arc::from_raw(ev.data as *const Request) };
                        self.inflight.fetch_sub(1, Ordering::AcqRel);
                        let res = crate::backend::twin::unbounce(&req, ev.res);
                        let (ret, err) = if res < 0 { (-1, (-res) as i32) } else { (res as isize, 0) };
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
