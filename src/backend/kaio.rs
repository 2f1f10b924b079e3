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
//! at the context's address (as libaio does); `io_getevents` is called only
//! to sleep when the ring is empty. The ring has one consumer at a time,
//! the holder of the reaping *role* (protocol.rs `Role`):
//!
//! * a thread in `aio_suspend` whose list is all kernel AIO requests takes
//!   the role if it is free and sleeps in `io_getevents` itself: the kernel
//!   wakes it directly, one wake-up per completion as with libaio, instead
//!   of the reaper's and then the waiter's. What it reaps it completes
//!   async-signal-safely when the request is `simple` (SIGEV_NONE, no list:
//!   result words, GEN); the rest of the bookkeeping (slot, per-fd table,
//!   requests queued behind) and every other request go on the `deferred`
//!   stack for the reaper thread, poked through `rwake` when it matters;
//! * otherwise the reaper thread (`aio-shim-kaio`) takes it. It yields to
//!   waiters (`want`), and after a waiter held the role it leaves the role
//!   free for `LEASE` (the waiter's next `aio_suspend` usually comes within
//!   microseconds) unless a request needs it sooner (a notification, a list,
//!   the ring full). While waiters keep the role busy it naps with a
//!   deadline that doubles from `LEASE` up to `NAP_MAX_NS` each time it
//!   wakes to nothing;
//! * a thread in `aio_error` on a request in progress (`poll_reap`) takes a
//!   free role just long enough to empty the ring, completing like a waiter,
//!   and tells the reaper (`polled`) to leave the role free for a lease: a
//!   program that polls reaps in its own thread, as fio's libaio engine
//!   does, instead of the reaper thread waking for every completion.
//!
//! Limits: right after a waiter leaves the role, a program that neither
//! waits nor polls may see a SIGEV_NONE completion up to `NAP_MAX_NS` (8 ms)
//! late; a signal handler that `siglongjmp`s out of an `aio_suspend`
//! holding the role leaves it held by that thread (only its later
//! `aio_suspend` calls reap; glibc's own `aio_suspend` keeps its wait list
//! on the abandoned stack and breaks worse).
//!
//! `lio_listio` submits its O_DIRECT requests in one `io_submit` (a
//! per-thread batch). `aio_reqprio` > 0 lowers a request's I/O priority
//! (`IOCB_FLAG_IOPRIO`, best-effort levels 5 to 7).
//!
//! Locks: `pending` guards the overflow queue only. The iocb of a request
//! is written by the submitter before `io_submit` and never again. The
//! role, `want`, `polled`, `deferred` and `rwake` are lock-free (the
//! waiter side runs in `aio_suspend` and `aio_error`, which may be called
//! from a signal handler).
use crate::abi::kernel::{AioContext, IoEvent, Iocb, IOCB_CMD_PREAD, IOCB_CMD_PWRITE, IOCB_FLAG_IOPRIO};
use crate::complete::{after_published, finish, words};
use crate::engine::Engine;
use crate::protocol::{self, Bell, Role, Take, ROLE_REAPER, ROLE_WAITER};
use crate::request::{Op, Request, Route, DONE, PUBLISHED, QUEUED, RUNNING};
use crate::stats::{self, C};
use crate::{config, log, sys, threads, wait};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// After a waiter held the reaping role, the reaper leaves it free this
/// long before taking it back (unless a request needs it sooner).
const LEASE_NS: u64 = 500_000;

/// The longest the reaper naps while waiters reap: how late, at worst, it
/// takes back a role that waiters stopped using (a program that then
/// neither waits nor polls sees its SIGEV_NONE completions that late).
const NAP_MAX_NS: u64 = 8_000_000;

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
    /// The reaping role (protocol.rs) and the waiters that want it.
    role: AtomicU32,
    want: AtomicU32,
    /// When a waiter last released the role (CLOCK_MONOTONIC ns; 0 never).
    waiter_released: AtomicU64,
    /// `aio_error` saw a request in progress since the reaper last looked:
    /// the program polls, and the reaper leaves the role to it for a lease.
    polled: AtomicBool,
    /// Requests in flight that only the reaper may complete (not `simple`,
    /// or the O_DIRECT twin's): it takes the role at once for them.
    urgent: AtomicU32,
    /// Completions reaped in `aio_suspend`, for the reaper to finish.
    deferred: AtomicPtr<Request>,
    /// The reaper's futex word when it does not hold the role.
    rwake: AtomicU32,
    /// The reaper sleeps without a deadline (nothing in flight).
    reaper_idle: AtomicBool,
    /// The thread holding the role as a waiter (its pthread_self), or 0.
    holder_tid: AtomicUsize,
    /// io_pgetevents works (Linux 4.18); else waiters never take the role.
    pgetevents_ok: AtomicBool,
    /// The role holder's event buffer (see `wait_reaping`).
    held: core::cell::UnsafeCell<[IoEvent; HELD]>,
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
                role: AtomicU32::new(0),
                want: AtomicU32::new(0),
                waiter_released: AtomicU64::new(0),
                polled: AtomicBool::new(false),
                urgent: AtomicU32::new(0),
                deferred: AtomicPtr::new(core::ptr::null_mut()),
                rwake: AtomicU32::new(0),
                reaper_idle: AtomicBool::new(false),
                holder_tid: AtomicUsize::new(0),
                pgetevents_ok: AtomicBool::new(true),
                held: core::cell::UnsafeCell::new([IoEvent::default(); HELD]),
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
        self.urgent.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller keeps the iocb alive until it is reaped.
        match unsafe { sys::io_submit(self.ctx, &[iocb]) } {
            Ok(1) => {
                self.submitted_wake(true);
                Ok(())
            }
            r => {
                self.urgent.fetch_sub(1, Ordering::SeqCst);
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
        let urgent = iocbs.iter().filter(|(_, r)| !waiter_completable(r)).count() as u32;
        self.urgent.fetch_add(urgent, Ordering::SeqCst);
        // SAFETY: each iocb lives in its request, kept alive by the Arc
        // leaked into aio_data until reaped.
        let taken = if ptrs.is_empty() { 0 } else { unsafe { sys::io_submit(self.ctx, &ptrs) }.unwrap_or(0) };
        for (_, req) in iocbs.iter().take(taken) {
            stats::add(&C.kaio);
            if waiter_completable(req) {
                eng.slots.mark_kaio(req.tag);
            }
        }
        if taken > 0 {
            self.submitted_wake(urgent > 0);
        }
        for (p, req) in iocbs.into_iter().skip(taken) {
            self.inflight.fetch_sub(1, Ordering::AcqRel);
            if !waiter_completable(&req) {
                self.urgent.fetch_sub(1, Ordering::SeqCst);
            }
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
        let completable = waiter_completable(&req);
        self.inflight.fetch_add(1, Ordering::AcqRel);
        if !completable {
            self.urgent.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: iocb stays valid (inside the leaked Arc) until reaped.
        match unsafe { sys::io_submit(self.ctx, &[iocb]) } {
            Ok(1) => {
                stats::add(&C.kaio);
                if completable {
                    eng.slots.mark_kaio(req.tag);
                }
                self.submitted_wake(!completable);
            }
            other => {
                self.inflight.fetch_sub(1, Ordering::AcqRel);
                if !completable {
                    self.urgent.fetch_sub(1, Ordering::SeqCst);
                }
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
    /// syscall. Only the holder of the role calls this (single consumer).
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

    /// Nothing in the completion ring right now (two loads).
    fn ring_empty(&self) -> bool {
        let Some(r) = self.ring else { return true };
        // SAFETY: as in ring_reap.
        unsafe { (*r).head.load(Ordering::Relaxed) == (*r).tail.load(Ordering::Acquire) }
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

    fn role(&self) -> Role<'_> {
        Role { state: &self.role, want: &self.want }
    }

    /// The reaper thread's futex word and idle flag (protocol.rs `Bell`).
    fn bell(&self) -> Bell<'_> {
        Bell { word: &self.rwake, idle: &self.reaper_idle }
    }

    /// After a successful io_submit: make sure someone will reap. A holder
    /// of the role will; with the role free, the reaper must know if it
    /// sleeps without a deadline, or if the request cannot wait for the
    /// lease (`urgent`).
    fn submitted_wake(&self, urgent: bool) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.role().holder() == protocol::ROLE_FREE && (urgent || self.reaper_idle.load(Ordering::SeqCst)) {
            self.bell().ring(); // out of its futex, not io_getevents
        }
    }

    /// Should the reaper thread take a free role now?
    fn reaper_should_take(&self) -> bool {
        if self.want.load(Ordering::SeqCst) != 0 || self.inflight.load(Ordering::SeqCst) == 0 {
            return false;
        }
        self.urgent.load(Ordering::SeqCst) != 0 || self.has_pending.load(Ordering::SeqCst) || self.lease_left_ns() == 0
    }

    /// How much of the lease a waiter's release left (0: expired).
    fn lease_left_ns(&self) -> u64 {
        let at = self.waiter_released.load(Ordering::SeqCst);
        if at == 0 {
            return 0;
        }
        LEASE_NS.saturating_sub(now_ns().saturating_sub(at))
    }

    /// Finish what waiters reaped (the reaper thread, or a thread about to
    /// submit: never from a path that must stay async-signal-safe).
    pub fn drain_deferred(&self, eng: &'static Engine) {
        let mut p = protocol::take_all(&self.deferred);
        if p.is_null() {
            return;
        }
        let mut list = Vec::new();
        while !p.is_null() {
            list.push(p);
            // SAFETY: a request pushed by `complete_in_waiter`, still owned
            // through the Arc leaked into its iocb.
            p = unsafe { (*p).next.load(Ordering::Relaxed) };
        }
        let _batch = wait::Batch::new();
        for p in list.into_iter().rev() {
            // SAFETY: the Arc leaked at submission, taken back once.
            let req = unsafe { Arc::from_raw(p as *const Request) };
            match req.kres.load(Ordering::Acquire) {
                PUBLISHED => after_published(eng, req),
                res => finish_kernel(eng, req, res),
            }
        }
    }

    /// Complete events reaped by the reaper thread.
    fn complete_in_reaper(&self, eng: &'static Engine, events: &[IoEvent]) {
        let _batch = wait::Batch::new();
        for ev in events {
            // SAFETY: aio_data is the Arc leaked in submit_now.
            let req = unsafe { Arc::from_raw(ev.data as *const Request) };
            self.inflight.fetch_sub(1, Ordering::AcqRel);
            if !waiter_completable(&req) {
                self.urgent.fetch_sub(1, Ordering::SeqCst);
            }
            finish_kernel(eng, req, ev.res);
        }
    }

    /// Complete events reaped inside `aio_suspend`: async-signal-safe (no
    /// lock, no allocation). A `simple` request's result is published
    /// here; everything else waits on `deferred` for the reaper.
    fn complete_in_waiter(&self, eng: &'static Engine, events: &[IoEvent], reaped: &AtomicU64) {
        let mut published = false;
        let mut needs_reaper = false;
        for ev in events {
            let p = ev.data as *mut Request;
            // SAFETY: the Arc leaked at submission keeps it alive; it now
            // belongs to this thread until pushed.
            let req = unsafe { &*p };
            self.inflight.fetch_sub(1, Ordering::AcqRel);
            if waiter_completable(req) {
                let (ret, err) = split_res(ev.res);
                req.state.store(DONE, Ordering::Release);
                stats::add(&C.completed);
                if err != 0 {
                    stats::add(&C.errors);
                }
                stats::add(reaped);
                req.kres.store(PUBLISHED, Ordering::Release);
                words(req.cb).publish(ret, err);
                published = true;
            } else {
                self.urgent.fetch_sub(1, Ordering::SeqCst);
                req.kres.store(ev.res, Ordering::Release);
                needs_reaper = true;
            }
            protocol::push(&self.deferred, p, |n| unsafe { core::ptr::addr_of!((*n).next) });
        }
        if published {
            // (This thread is one of the waiters: no need to wake itself.)
            wait::counter().bump_from_waiter();
        }
        // Bookkeeping may wait for the submitter's next call, unless a
        // request is queued behind one of these or parked for ring space.
        if needs_reaper || eng.fds.any_waiting() || self.has_pending.load(Ordering::SeqCst) {
            self.bell().ring(); // out of its futex, not io_getevents
        }
    }

    /// `aio_suspend`'s sleep when every request it waits for is a
    /// waiter-completable kernel AIO request: reap in this thread if the
    /// role is free, else sleep on GEN as usual (the holder reaps and
    /// publishes). Ok to re-scan, Err to end the wait (EAGAIN: deadline,
    /// EINTR: a handler ran). Async-signal-safe.
    ///
    /// Signals are blocked from before the role is taken until it is
    /// released, except inside io_pgetevents, which sleeps with the
    /// program's mask. A handler can therefore run on the holder only at
    /// that syscall's exit, and the kernel runs it there even when the call
    /// returned events (io_pgetevents delivers a pending signal before
    /// restoring the mask): events consumed but not completed, which the
    /// handler might wait for. So the holder's events go to `held`, cleared
    /// before the call; a handler's aio_suspend on the holder thread
    /// (`nested`) completes what is there first, and the interrupted call
    /// skips what it finds cleared.
    ///
    /// Cancellation: io_getevents consumes what it returns, so it is never
    /// called with asynchronous cancellation enabled; the sleep is cut into
    /// 50 ms pieces with pthread_testcancel between them.
    pub fn wait_reaping(&self, eng: &'static Engine, seen: u32, deadline: Option<&libc::timespec>) -> Result<(), i32> {
        const CANCEL_CHECK_NS: i64 = 50_000_000;
        let blocked = threads::SignalsBlocked::new();
        // The thread's identity: pthread_self (a load from the thread
        // pointer), not a cached gettid in a thread-local: the engine is
        // dlopen'ed (shim/stub.rs), so a thread's first touch of its TLS may
        // malloc in the loader, which an async-signal-safe function must
        // not risk.
        // SAFETY: no preconditions.
        let me = unsafe { libc::pthread_self() } as usize;
        let nested = self.role().holder() == ROLE_WAITER && self.holder_tid.load(Ordering::SeqCst) == me;
        let ok = self.pgetevents_ok.load(Ordering::Relaxed);
        let take = if nested || !ok { None } else { Some(self.role().take_or_want(&self.bell())) };
        if nested || take == Some(Take::Got) {
            // Declared after `blocked`, so dropped before it: the role is
            // released (holder_tid cleared) with signals still blocked.
            let _held = (!nested).then(|| WaiterRole::hold(self, me));
            if nested && self.complete_held(eng) {
                return Ok(());
            }
            if self.reap_ring_as_waiter(eng, &C.kaio_waiter_reaped) {
                return Ok(());
            }
            // GEN moved since the caller's scan (the last holder completed
            // something before it released): re-scan instead of sleeping.
            if wait::counter().generation() != seen {
                return Ok(());
            }
            wait::testcancel();
            let mut t = libc::timespec { tv_sec: 0, tv_nsec: CANCEL_CHECK_NS };
            if let Some(d) = deadline {
                let left = ts_ns(d) - ts_ns(&sys::monotonic_now());
                if left <= 0 {
                    return Err(libc::EAGAIN);
                }
                t.tv_nsec = left.min(CANCEL_CHECK_NS);
            }
            // SAFETY: the buffer belongs to the role holder's thread.
            let held = unsafe { &mut *self.held.get() };
            let r = sys::io_pgetevents(self.ctx, 1, held, &t, blocked.old_mask());
            // A handler may have run here and completed (and cleared) what
            // the call returned.
            self.complete_held(eng);
            return match r {
                Ok(_) => Ok(()),
                Err(libc::EINTR) => {
                    drop(_held);
                    drop(blocked);
                    wait::testcancel();
                    Err(libc::EINTR)
                }
                Err(libc::ENOSYS) => {
                    self.pgetevents_ok.store(false, Ordering::Relaxed);
                    Ok(())
                }
                Err(_) => Ok(()),
            };
        }
        drop(blocked);
        if take == Some(Take::Retry) {
            return Ok(()); // freed meanwhile: the caller's loop comes back to take it
        }
        // Held by the reaper (which yields to `want` after its batch) or by
        // another waiter (both bump GEN on release when `want` is set). The
        // guard gives `want` back even if the thread is cancelled here.
        let _wanting = (take == Some(Take::Wanting)).then(|| Wanting(self));
        match wait::wait_cancellable(seen, deadline) {
            Ok(()) | Err(libc::EAGAIN) => Ok(()),
            Err(libc::ETIMEDOUT) => Err(libc::EAGAIN),
            Err(e) => Err(e),
        }
    }

    /// `aio_error` found a request in progress: if the ring has events and
    /// the role is free, reap and publish them here, as a waiter in
    /// `aio_suspend` does (async-signal-safe: no lock, no allocation; all
    /// signals blocked while the role is held, so that a handler never
    /// finds this thread holding it half-way). A program that polls (fio's
    /// posixaio engine does) then gets its completions the way fio's libaio
    /// engine does, straight from the ring in its own thread, without the
    /// reaper thread's wake-up per completion: the reaper sees `polled`
    /// and leaves the role free for a lease.
    pub fn poll_reap(&self, eng: &'static Engine) {
        if !self.polled.load(Ordering::Relaxed) {
            self.polled.store(true, Ordering::Relaxed);
        }
        if self.ring_empty() || self.role().holder() != protocol::ROLE_FREE {
            return;
        }
        let _blocked = threads::SignalsBlocked::new();
        if !self.role().take(ROLE_WAITER) {
            return;
        }
        // (Declared after `_blocked`: released with signals still blocked.)
        // SAFETY: no preconditions.
        let _held = WaiterRole::hold(self, unsafe { libc::pthread_self() } as usize);
        self.reap_ring_as_waiter(eng, &C.kaio_poll_reaped);
    }

    /// The waiter holding the role (`aio_suspend` or `aio_error`) takes what
    /// the mapped ring has into `held` and completes it, counting it in
    /// `reaped`. True if there was anything.
    fn reap_ring_as_waiter(&self, eng: &'static Engine, reaped: &AtomicU64) -> bool {
        // SAFETY: the buffer belongs to the role holder's thread.
        let held = unsafe { &mut *self.held.get() };
        let n = self.ring_reap(held);
        if n == 0 {
            return false;
        }
        self.complete_in_waiter(eng, &held[..n], reaped);
        clear_events(&mut held[..n]);
        true
    }

    /// Complete and clear whatever events sit in `held` (the kernel writes
    /// them from index 0; cleared entries have `data == 0`). True if any.
    fn complete_held(&self, eng: &'static Engine) -> bool {
        // SAFETY: the holder's thread (or a handler on it, which the
        // holder cannot run concurrently with).
        let held = unsafe { &mut *self.held.get() };
        let n = held.iter().take_while(|e| unsafe { core::ptr::read_volatile(&e.data) } != 0).count();
        if n == 0 {
            return false;
        }
        let mut copy = [IoEvent::default(); HELD];
        copy[..n].copy_from_slice(&held[..n]);
        clear_events(&mut held[..n]);
        self.complete_in_waiter(eng, &copy[..n], &C.kaio_waiter_reaped);
        true
    }

    /// Release the role; wake waiters that want it.
    fn release_role(&self) {
        if self.role().release_wanted() {
            wait::counter().bump();
        }
    }

    fn reap(&self, eng: &'static Engine) {
        let mut events = vec![IoEvent::default(); 256];
        let short = libc::timespec { tv_sec: 0, tv_nsec: 1_000_000 };
        let long = libc::timespec { tv_sec: 0, tv_nsec: 200_000_000 };
        let spin = std::time::Duration::from_micros(config::get().spin_us as u64);
        // The length of the next nap while waiters reap (see below).
        let mut nap_ns = LEASE_NS;
        loop {
            if self.polled.load(Ordering::Relaxed) && self.polled.swap(false, Ordering::Relaxed) {
                // A program polling aio_error reaps for itself (poll_reap).
                self.waiter_released.store(now_ns().max(1), Ordering::SeqCst);
            }
            if self.has_pending.load(Ordering::Acquire) || !protocol::take_all_is_empty(&self.deferred) {
                nap_ns = LEASE_NS;
            }
            self.drain_deferred(eng);
            if self.has_pending.load(Ordering::Acquire) {
                self.drain_pending(eng);
            }
            if self.reaper_should_take() && self.role().take(ROLE_REAPER) {
                nap_ns = LEASE_NS;
                let t = if self.has_pending.load(Ordering::Acquire) { &short } else { &long };
                let got = match self.ring_reap(&mut events) {
                    0 => match self.spin(&mut events, spin) {
                        0 => sys::io_getevents(self.ctx, 1, &mut events, Some(t)),
                        n => Ok(n),
                    },
                    n => Ok(n),
                };
                // Complete (results stored, GEN bumped) before releasing: a
                // waiter that takes the role next must find GEN moved, not
                // sleep in io_getevents for an event already consumed.
                if let Ok(n) = got {
                    self.complete_in_reaper(eng, &events[..n]);
                }
                self.release_role();
                match got {
                    Ok(_) | Err(libc::EINTR) => {}
                    Err(e) => {
                        log::warn(format_args!("io_getevents failed: errno {e}"));
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
                continue;
            }
            // Not ours now. While waiters are reaping (one holds the role,
            // or released it less than a lease ago), sleep with a deadline:
            // submissions do not poke then, and a role left behind is
            // picked up when it passes. Each nap that ends with nothing to
            // do doubles the next, up to NAP_MAX_NS: a program that waits
            // in aio_suspend all the time (fio's posixaio engine) wakes
            // this thread 125 times a second, not 2000 (a context switch
            // in and out each, 2x fio libaio's switches per I/O). Any
            // work resets it to a lease. Otherwise sleep until poked.
            let left = self.lease_left_ns();
            let active = left > 0 || self.role().holder() == ROLE_WAITER;
            let seen = self.bell().announce(!active);
            if !protocol::take_all_is_empty(&self.deferred)
                || (self.role().holder() == protocol::ROLE_FREE && self.reaper_should_take())
            {
                self.bell().awake();
                continue;
            }
            let nap = left.max(nap_ns); // at least a lease
            let deadline = active.then(|| sys::deadline_after(&libc::timespec { tv_sec: 0, tv_nsec: nap as i64 }));
            let r = sys::futex_wait(&self.rwake, seen, deadline.as_ref());
            self.bell().awake();
            nap_ns = if r == Err(libc::ETIMEDOUT) { (nap_ns * 2).min(NAP_MAX_NS) } else { LEASE_NS };
        }
    }
}

/// Events a waiter reaps at once.
const HELD: usize = 32;

fn clear_events(evs: &mut [IoEvent]) {
    for e in evs {
        // SAFETY: a valid event; volatile so that a signal handler on this
        // thread and the code it interrupted agree on what is cleared.
        unsafe { core::ptr::write_volatile(&mut e.data, 0) };
    }
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
}

/// A waiter counted in `want`; uncounted even if cancelled.
struct Wanting<'a>(&'a Kaio);

impl Drop for Wanting<'_> {
    fn drop(&mut self) {
        // (Rings the reaper: it may have left a free role alone for this
        // want and gone to sleep; the fuzzer found a notified request
        // stranded for ever that way.)
        self.0.role().unwant(&self.0.bell());
    }
}

/// A waiter's hold on the role; released even if the thread is cancelled.
struct WaiterRole<'a>(&'a Kaio);

impl<'a> WaiterRole<'a> {
    /// The role, just taken by thread `me` (its pthread_self).
    fn hold(k: &'a Kaio, me: usize) -> WaiterRole<'a> {
        k.holder_tid.store(me, Ordering::SeqCst);
        WaiterRole(k)
    }
}

impl Drop for WaiterRole<'_> {
    fn drop(&mut self) {
        let k = self.0;
        k.waiter_released.store(now_ns().max(1), Ordering::SeqCst);
        k.holder_tid.store(0, Ordering::SeqCst);
        k.release_role();
        // Someone must reap what is still in flight: the reaper, after the
        // lease, if it is not already counting it down.
        if k.inflight.load(Ordering::SeqCst) > 0 {
            k.bell().ring_if_idle();
        }
    }
}

/// A kernel result (bytes, or -errno) as aio_return/aio_error see it.
fn split_res(res: i64) -> (isize, i32) {
    if res < 0 {
        (-1, (-res) as i32)
    } else {
        (res as isize, 0)
    }
}

/// The full completion of a request whose kernel result is `res` (copied
/// out of the O_DIRECT twin's bounce buffer first, if it used one).
fn finish_kernel(eng: &'static Engine, req: Arc<Request>, res: i64) {
    let (ret, err) = split_res(crate::backend::twin::unbounce(&req, res));
    finish(eng, req, ret, err, true, true);
}

/// Can a waiter complete this request itself when it reaps it?
fn waiter_completable(req: &Request) -> bool {
    req.simple && req.route == Route::Kaio
}

fn ts_ns(t: &libc::timespec) -> i64 {
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}

fn now_ns() -> u64 {
    ts_ns(&sys::monotonic_now()) as u64
}

impl Drop for Kaio {
    fn drop(&mut self) {
        sys::io_destroy(self.ctx);
    }
}
