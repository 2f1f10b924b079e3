//! Worker threads, the universal fallback: anything kernel AIO cannot do
//! without blocking the submitter (buffered files, pipes, sockets, ttys,
//! fsync). Executes requests exactly as glibc's helper threads do (`pread`,
//! falling back to `read` on ESPIPE; `fsync`/`fdatasync`).
//!
//! Threads start lazily, at most `config::pool_threads()` (aio_init's
//! `aio_threads`, `AIO_SHIM_THREADS`, default 20), and exit after
//! `aio_idle_time` seconds without work.
//!
//! Buffered writes to one file run one at a time (`serial`), like glibc's one
//! helper per fd: they all take the inode's lock, and twenty threads
//! queueing on it cost a context switch per write (stress-ng --aio ran at
//! half of glibc's rate). The worker that finishes a write on an fd takes
//! that fd's next queued write itself, so none is left behind a request
//! that blocks; a write queued behind a busy fd wakes nobody. Reads and
//! other fds run in parallel.
//!
//! Waking a thread costs more than most page-cache I/O, so a submission
//! wakes nobody while a worker is running a request that will end
//! (`running`: not a pipe, socket or tty, which may wait for ever) and has
//! made progress in the last `STALL`: that worker comes back for it. A
//! worker that takes a request and sees more runnable work wakes (or
//! starts) one more when this one may take a while: requests are slow
//! (`slow`: the last one took longer than `FAST`, blocked on the disk or
//! waited for a CPU), or it is a stream's (which may wait for ever). So a
//! burst of slow requests still fans out to every thread in a few
//! microseconds, and requests served from the page cache stay with the
//! worker already running, as glibc's one thread per fd does: a second
//! worker only adds wake-ups (stress-ng --aio, 6 alternated runs each:
//! 0.97x of glibc waking one more at every take, 1.21x as here, 0.87x
//! never fanning out). Parked workers also look at the queue every
//! `aio_idle_time` (1 s), so nothing waits for ever behind a request stuck
//! on a hung filesystem; a worker that leaves work queued behind it starts
//! a spare (parked from the start) when none is parked or lingering, so
//! there is always one to look.
//!
//! A worker that runs out of work lingers for `LINGER` before it parks:
//! it gives up the CPU (`sched_yield`) until a submission bumps `pushed`,
//! and a submission while a worker lingers wakes nobody. A program that
//! submits one request after another, each served in microseconds,
//! otherwise sees the worker catch up and park after nearly every one,
//! and pays a futex wake and a context switch per request (stress-ng
//! --aio, 6 alternated runs each: 0.83x of glibc parking at once, 1.23x
//! lingering; spinning without yielding, 0.85x: the spinner takes the CPU
//! the submitter needs).
//!
//! Lock: `st` guards the queue, the busy-writer set, the thread counts and
//! `slow`; it is never held while doing I/O or completing. `pushed` and
//! `lingering` are atomics read without it (a lingering worker watches
//! `pushed`) and read under it by `submit`: a worker leaves `lingering`
//! before it takes `st` again to look at the queue, so a submission either
//! sees it lingering (and it finds the request) or wakes a worker.
use crate::complete::finish;
use crate::engine::Engine;
use crate::request::{Op, Request};
use crate::stats::{self, C};
use crate::{config, log, threads};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Arc<Request>>,
    /// fds with a serial write executing.
    writing: Vec<i32>,
    threads: u32,
    idle: u32,
    /// Workers running a request that will end (not a stream).
    running: u32,
    /// When a worker last took or finished a request.
    progress: Option<Instant>,
    /// The last request a worker ran took longer than `FAST` (or none has
    /// run yet): a worker taking one wakes another for the rest.
    slow: bool,
}

/// A running worker that made progress this recently will come back for a
/// new request; after this long without progress, a submission wakes
/// another.
const STALL: Duration = Duration::from_millis(1);

/// A request that runs longer than this did not come from the page cache
/// at once (a few microseconds): it waited for the disk, a lock or a CPU.
const FAST: Duration = Duration::from_micros(30);

/// A buffered write to a seekable file: one at a time per fd in the pool.
/// (O_DIRECT writes, when the pool serves them, run in parallel: measured,
/// serialising them cost 85% of their throughput.)
fn serial(req: &Request) -> bool {
    req.op == Op::Write && !req.stream && !req.direct
}

impl PoolState {
    fn busy(&self, fd: i32) -> bool {
        self.writing.contains(&fd)
    }

    /// The next request this worker may run: after a write on `after`, that
    /// fd's next write; else the first that is not a write to a busy fd.
    fn take(&mut self, after: Option<i32>) -> Option<Arc<Request>> {
        let at = after
            .and_then(|fd| self.queue.iter().position(|r| r.fd == fd && serial(r)))
            .or_else(|| self.queue.iter().position(|r| !(serial(r) && self.busy(r.fd))))?;
        let r = self.queue.remove(at)?;
        if serial(&r) {
            self.writing.push(r.fd);
        }
        Some(r)
    }

    fn runnable(&self) -> bool {
        self.queue.iter().any(|r| !(serial(r) && self.busy(r.fd)))
    }
}

pub struct Pool {
    st: Mutex<PoolState>,
    cv: Condvar,
    /// Requests queued so far (wrapping): what a lingering worker watches.
    pushed: AtomicU32,
    /// Workers lingering (see the top of this file).
    lingering: AtomicU32,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            st: Mutex::new(PoolState { slow: true, ..Default::default() }),
            cv: Condvar::new(),
            pushed: AtomicU32::new(0),
            lingering: AtomicU32::new(0),
        }
    }
}

/// How long a worker out of work stays awake (yielding) before it parks.
/// 3, 10 and 50 us measured the same; it bounds the CPU an idle pool
/// spends after its last request.
const LINGER: Duration = Duration::from_micros(10);

impl Pool {
    pub fn submit(&self, eng: &'static Engine, req: Arc<Request>) {
        stats::add(&C.pool);
        let mut st = self.st.lock();
        let waits = serial(&req) && st.busy(req.fd);
        st.queue.push_back(req);
        self.pushed.fetch_add(1, Ordering::Release);
        if self.lingering.load(Ordering::Relaxed) > 0 {
            // That worker is watching `pushed`.
            return;
        }
        if waits {
            // The worker writing this fd takes it next.
            return;
        }
        if st.running > 0 && st.progress.is_some_and(|t| t.elapsed() < STALL) {
            return;
        }
        self.kick(eng, st);
    }

    /// From a thread whose fd table is not the program's (the O_DIRECT
    /// twin thread): queue and wake, but never start a thread there (it
    /// would inherit that table). The caller made sure the pool has a
    /// thread (`ensure_started`); if none is parked, the next worker to
    /// finish, or the next submission, takes it.
    pub fn submit_nospawn(&self, req: Arc<Request>) {
        stats::add(&C.pool);
        let mut st = self.st.lock();
        st.queue.push_back(req);
        self.pushed.fetch_add(1, Ordering::Release);
        if st.idle > 0 && self.lingering.load(Ordering::Relaxed) == 0 {
            self.cv.notify_one();
        }
    }

    /// Make sure at least one worker exists (from a thread with the
    /// program's fd table).
    pub fn ensure_started(&self, eng: &'static Engine) {
        let st = self.st.lock();
        if st.threads == 0 {
            self.kick(eng, st);
        }
    }

    /// Wake a parked worker, or start one if the pool may grow.
    fn kick(&self, eng: &'static Engine, st: parking_lot::MutexGuard<'_, PoolState>) {
        if st.idle > 0 {
            self.cv.notify_one();
            return;
        }
        self.start(eng, st, false);
    }

    /// Start a worker if the pool may grow. A `spare` parks first: it is
    /// there to look at the queue later, not to take work now.
    fn start(&self, eng: &'static Engine, mut st: parking_lot::MutexGuard<'_, PoolState>, spare: bool) {
        if st.threads >= config::pool_threads() {
            return;
        }
        st.threads += 1;
        let first = st.threads == 1;
        drop(st);
        // The first worker is retried for a while (RLIMIT_NPROC reached by
        // short-lived threads, a thread storm): a request already accepted
        // must not fail for a shortage that passes. Later ones need not:
        // the running workers drain the queue.
        let spawn = || threads::spawn("aio-shim-pool", 256 << 10, move || eng.pool.worker(eng, spare));
        let mut spawned = spawn();
        let mut delay_us = 100;
        while first && spawned.is_err() && delay_us <= 200_000 {
            std::thread::sleep(Duration::from_micros(delay_us));
            delay_us *= 2;
            spawned = spawn();
        }
        if let Err(e) = spawned {
            let mut st = self.st.lock();
            st.threads -= 1;
            log::warn(format_args!("cannot start a worker thread: {e}"));
            if st.threads == 0 {
                // Nobody will ever run the queue: fail what is in it, like
                // glibc's EAGAIN when it cannot start any thread.
                let failed: Vec<_> = st.queue.drain(..).collect();
                drop(st);
                for r in failed {
                    finish(eng, r, -1, libc::EAGAIN, true, true);
                }
            }
        }
    }

    /// Out of work: yield the CPU for up to `LINGER`, or until something
    /// is queued. `st` is released meanwhile and held again on return.
    /// Returns whether there is runnable work now.
    fn linger(&self, st: &mut parking_lot::MutexGuard<'_, PoolState>) -> bool {
        let seen = self.pushed.load(Ordering::Acquire);
        self.lingering.fetch_add(1, Ordering::Relaxed);
        parking_lot::MutexGuard::unlocked(st, || {
            let since = Instant::now();
            while self.pushed.load(Ordering::Acquire) == seen && since.elapsed() < LINGER {
                crate::sync::yield_now();
            }
            // Before `st` is taken again: see the top of this file.
            self.lingering.fetch_sub(1, Ordering::Relaxed);
        });
        st.runnable()
    }

    fn worker(&self, eng: &'static Engine, spare: bool) {
        let mut st = self.st.lock();
        let mut after = None;
        let mut park = spare;
        loop {
            let taken = if park { None } else { st.take(after.take()) };
            if let Some(req) = taken {
                let finite = !req.stream;
                st.running += finite as u32;
                let took = Instant::now();
                st.progress = Some(took);
                let more = st.runnable();
                if more && (st.slow || req.stream) {
                    self.kick(eng, st);
                } else if more && st.idle == 0 && self.lingering.load(Ordering::Relaxed) == 0 {
                    // Work left behind this request and nobody to look at
                    // it should this one hang: a spare.
                    self.start(eng, st, true);
                } else {
                    drop(st);
                }
                let wrote = serial(&req).then_some(req.fd);
                let (ret, err) = execute(&req);
                finish(eng, req, ret, err, true, true);
                let now = Instant::now();
                st = self.st.lock();
                st.running -= finite as u32;
                st.progress = Some(now);
                st.slow = now - took > FAST;
                if let Some(fd) = wrote {
                    st.writing.retain(|&f| f != fd);
                    after = Some(fd);
                }
                continue;
            }
            if !park && self.linger(&mut st) {
                continue;
            }
            park = false;
            let idle = config::idle_time();
            st.idle += 1;
            let timed_out = if idle < 0 {
                self.cv.wait(&mut st);
                false
            } else {
                self.cv.wait_for(&mut st, Duration::from_secs(idle.max(1) as u64)).timed_out()
            };
            st.idle -= 1;
            if timed_out && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

fn errno() -> i32 {
    // SAFETY: thread-local errno.
    unsafe { *libc::__errno_location() }
}

/// Retry on EINTR, like glibc's TEMP_FAILURE_RETRY.
fn retry(mut f: impl FnMut() -> isize) -> (isize, i32) {
    loop {
        let r = f();
        if r >= 0 {
            return (r, 0);
        }
        let e = errno();
        if e != libc::EINTR {
            return (-1, e);
        }
    }
}

/// Do one request in this thread, as glibc's helper thread would. A read
/// or write that RWF_NOWAIT started (`progress` bytes done) continues where
/// it stopped; an error after some progress reports the progress, like a
/// short `pread`.
pub fn execute(req: &Request) -> (isize, i32) {
    let done = req.progress.load(Ordering::Relaxed);
    let (fd, buf, n) = (req.fd, req.buf + done, req.nbytes - done);
    let off = req.offset + done as i64;
    // SAFETY: the user guarantees buf..buf+n is valid for the request's
    // lifetime (a bad pointer gives EFAULT, as with glibc).
    let (ret, err) = unsafe {
        match req.op {
            Op::Read => match retry(|| libc::pread(fd, buf as *mut _, n, off)) {
                (_, libc::ESPIPE) => retry(|| libc::read(fd, buf as *mut _, n)),
                r => r,
            },
            Op::Write => match retry(|| libc::pwrite(fd, buf as *const _, n, off)) {
                (_, libc::ESPIPE) => retry(|| libc::write(fd, buf as *const _, n)),
                r => r,
            },
            Op::Fsync => retry(|| libc::fsync(fd) as isize),
            Op::Fdsync => retry(|| libc::fdatasync(fd) as isize),
            Op::Invalid => (-1, libc::EINVAL),
        }
    };
    match (done, err) {
        (0, _) => (ret, err),
        (d, 0) => (ret + d as isize, 0),
        (d, _) => (d as isize, 0),
    }
}
