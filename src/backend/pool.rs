//! Worker threads, the universal fallback: anything kernel AIO cannot do
//! without blocking the submitter (buffered files, pipes, sockets, ttys,
//! fsync). Executes requests exactly as glibc's helper threads do (`pread`,
//! falling back to `read` on ESPIPE; `fsync`/`fdatasync`).
//!
//! Threads start lazily, at most `config::pool_threads()` (aio_init's
//! `aio_threads`, `AIO_SHIM_THREADS`, default 20), and exit after
//! `aio_idle_time` seconds without work. Lock: `st` guards the queue and the
//! thread counts; it is never held while doing I/O or completing.
use crate::complete::finish;
use crate::engine::Engine;
use crate::request::{Op, Request};
use crate::stats::{self, C};
use crate::{config, log, threads};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct PoolState {
    queue: VecDeque<Arc<Request>>,
    threads: u32,
    idle: u32,
}

#[derive(Default)]
pub struct Pool {
    st: Mutex<PoolState>,
    cv: Condvar,
}

impl Pool {
    pub fn submit(&self, eng: &'static Engine, req: Arc<Request>) {
        stats::add(&C.pool);
        let mut st = self.st.lock();
        st.queue.push_back(req);
        if st.idle > 0 {
            self.cv.notify_one();
        }
        // Every queued request needs a thread that is not busy: a request
        // may block for ever (a read on an empty pipe) and must not hold up
        // the ones behind it while the pool may still grow.
        if st.queue.len() as u32 <= st.idle || st.threads >= config::pool_threads() {
            return;
        }
        st.threads += 1;
        drop(st);
        if let Err(e) = threads::spawn("aio-shim-pool", 256 << 10, move || eng.pool.worker(eng)) {
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

    fn worker(&self, eng: &'static Engine) {
        let mut st = self.st.lock();
        loop {
            if let Some(req) = st.queue.pop_front() {
                drop(st);
                let (ret, err) = execute(&req);
                finish(eng, req, ret, err, true, true);
                st = self.st.lock();
                continue;
            }
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
