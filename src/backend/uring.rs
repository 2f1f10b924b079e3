//! io_uring: pipes and sockets without a blocked thread each. With
//! `AIO_SHIM_BACKEND=uring` also O_DIRECT files and `aio_fsync`.
//!
//! Set up on first use; EPERM, ENOSYS (seccomp, containers,
//! `kernel.io_uring_disabled`) or a kernel without registered ring fds
//! (Linux < 5.18) mean "not available": the pool serves instead, counted in
//! `fallback_uring_unavailable`.
//!
//! The ring is an fd in the program's table, and programs close fds they do
//! not know about. So the shim never uses that fd number after setup except
//! to *register* the ring in a thread (`IORING_REGISTER_RING_FDS`), and only
//! after `fstat` shows it is still our ring (each ring has its own inode);
//! every `io_uring_enter` then goes through the thread's registered index,
//! which does not depend on the fd table. If the fd was closed or now names
//! something else, the ring is "lost": the engine builds a new one, the old
//! one's reaper finishes what it has in flight and exits, and the old fd
//! number, no longer ours, is never closed. The ring fd is close-on-exec
//! (io_uring always is); a forked child closes its copy (engine.rs).
//!
//! A request in the ring cannot be taken back: like glibc, `aio_cancel`
//! says AIO_NOTCANCELED for it (requests still queued on their fd are
//! cancelled as usual).
//!
//! Locks: `sq` serialises submitters on the submission queue (push and
//! `io_uring_enter`); the completion queue has one consumer, the reaper.
use crate::complete::finish;
use crate::config;
use crate::engine::Engine;
use crate::request::{Op, Request};
use crate::stats::{self, C};
use crate::{log, threads};
use io_uring::{opcode, squeue, types, IoUring};
use parking_lot::Mutex;
use std::cell::Cell;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

const ENTRIES: u32 = 256;
/// At least this many io-wq workers for blocking requests.
const IOWQ_MIN_BOUNDED: u32 = 32;
const IORING_REGISTER_RING_FDS: libc::c_long = 20;
const IORING_ENTER_GETEVENTS: u32 = 1;
const IORING_ENTER_REGISTERED_RING: u32 = 16;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's registration: (ring id, registered index).
    static REG: Cell<(u64, u32)> = const { Cell::new((0, 0)) };
}

pub struct Uring {
    ring: IoUring,
    fd: i32,
    dev_ino: (u64, u64),
    id: u64,
    sq: Mutex<()>,
    inflight: AtomicU32,
    cap: u32,
    lost: AtomicBool,
}

fn errno() -> i32 {
    // SAFETY: thread-local errno.
    unsafe { *libc::__errno_location() }
}

fn dev_ino(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: valid out pointer; fstat on any int.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

#[repr(C)]
struct RsrcUpdate {
    offset: u32,
    resv: u32,
    data: u64,
}

fn register_ring(fd: i32) -> Result<u32, i32> {
    let mut up = RsrcUpdate { offset: u32::MAX, resv: 0, data: fd as u64 };
    // SAFETY: one io_uring_rsrc_update, valid for the call.
    let r = unsafe {
        libc::syscall(libc::SYS_io_uring_register, fd, IORING_REGISTER_RING_FDS, &mut up as *mut RsrcUpdate, 1)
    };
    match r {
        1 => Ok(up.offset),
        r if r < 0 => Err(errno()),
        _ => Err(libc::EINVAL),
    }
}

fn enter(idx: u32, to_submit: u32, min_complete: u32, flags: u32) -> Result<u32, i32> {
    // SAFETY: a registered ring index with the REGISTERED_RING flag; no
    // argument pointer.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            idx,
            to_submit,
            min_complete,
            flags | IORING_ENTER_REGISTERED_RING,
            core::ptr::null::<libc::c_void>(),
            0usize,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as u32)
    }
}

/// The SQE for `req`, or None when io_uring cannot express it exactly as
/// glibc's pread/pwrite would (a negative offset means "file position" to
/// io_uring, EINVAL to pread; lengths over 4 GiB).
fn sqe(req: &Request) -> Option<squeue::Entry> {
    let fd = types::Fd(req.fd);
    let done = req.progress.load(Ordering::Relaxed);
    let (buf, len) = (req.buf + done, req.nbytes - done);
    // A pipe or socket takes offset 0 (a socket refuses any other), so
    // make sure it still is one: if the program put a regular file on the
    // fd while the request waited, the pool reads at aio_offset (pread),
    // as glibc would.
    let still_stream = || {
        crate::route::FdInfo::identity(req.fd)
            .is_ok_and(|(mode, _)| matches!(mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFSOCK))
    };
    let off = if req.offset < 0 && req.op.is_rw() {
        return None;
    } else if req.stream {
        if req.op.is_rw() && !still_stream() {
            return None;
        }
        0
    } else {
        (req.offset + done as i64) as u64
    };
    if req.op == Op::Write && crate::sys::beyond_fsize(off + len as u64) {
        return None;
    }
    let prio = crate::backend::kaio::ioprio(req.reqprio).unwrap_or(0) as u16;
    let e = match req.op {
        Op::Read | Op::Write if len > u32::MAX as usize => return None,
        Op::Read => opcode::Read::new(fd, buf as *mut u8, len as u32).offset(off).ioprio(prio).build(),
        Op::Write => opcode::Write::new(fd, buf as *const u8, len as u32).offset(off).ioprio(prio).build(),
        Op::Fsync => opcode::Fsync::new(fd).build(),
        Op::Fdsync => opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build(),
        Op::Invalid => return None,
    };
    // A write to a pipe or socket runs in a kernel worker: it blocks until
    // all is written, like glibc's write(), and a broken pipe's SIGPIPE
    // lands on that worker (which blocks signals, as glibc's helper thread
    // does), not on the program's thread that submitted it.
    Some(if req.stream && req.op == Op::Write { e.flags(squeue::Flags::ASYNC) } else { e })
}

impl Uring {
    /// A new ring registered in the calling thread, or None (logged).
    pub fn setup() -> Option<Uring> {
        let ring = match IoUring::builder().setup_cqsize(ENTRIES * 4).build(ENTRIES) {
            Ok(r) => r,
            Err(e) => {
                stats::add(&C.fallback_uring_unavailable);
                log::warn(format_args!("io_uring unavailable ({e}); using worker threads"));
                return None;
            }
        };
        // Blocking work (buffered reads that miss the cache, fsync) runs in
        // io-wq's bounded workers: 4 per CPU by default, fewer than the
        // pool's threads; give it as many (0 keeps the unbounded limit).
        let mut max = [config::pool_threads().max(IOWQ_MIN_BOUNDED), 0];
        if let Err(e) = ring.submitter().register_iowq_max_workers(&mut max) {
            log::debug(format_args!("io_uring: cannot raise the io-wq worker limit: {e}"));
        }
        let fd = ring.as_raw_fd();
        let u = Uring {
            fd,
            dev_ino: dev_ino(fd)?,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            sq: Mutex::new(()),
            inflight: AtomicU32::new(0),
            cap: ring.params().cq_entries(),
            lost: AtomicBool::new(false),
            ring,
        };
        if let Err(e) = u.registration() {
            stats::add(&C.fallback_uring_unavailable);
            log::warn(format_args!(
                "io_uring cannot register its ring (errno {e}; needs Linux 5.18); using worker threads"
            ));
            return None; // dropping closes the fd: ours, just made
        }
        Some(u)
    }

    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Our ring's fd number still names our ring?
    pub fn fd_is_ours(&self) -> bool {
        dev_ino(self.fd) == Some(self.dev_ino)
    }

    /// The calling thread's registered index, registering the ring (after
    /// checking its fd is still ours) the first time.
    fn registration(&self) -> Result<u32, i32> {
        let (id, idx) = REG.with(|c| c.get());
        if id == self.id {
            return Ok(idx);
        }
        if !self.fd_is_ours() {
            if !self.lost.swap(true, Ordering::AcqRel) {
                log::warn(format_args!("the program closed or replaced io_uring fd {}; building a new ring", self.fd));
            }
            return Err(libc::EBADF);
        }
        let idx = register_ring(self.fd)?;
        REG.with(|c| c.set((self.id, idx)));
        Ok(idx)
    }

    pub fn start(&'static self, eng: &'static Engine) -> bool {
        match threads::spawn("aio-shim-uring", 256 << 10, move || self.reap(eng)) {
            Ok(()) => true,
            Err(e) => {
                log::warn(format_args!("cannot start the io_uring reaper: {e}"));
                false
            }
        }
    }

    /// Submit `req`; gives it back when the ring cannot take it (full, lost,
    /// or not expressible), for the pool.
    pub fn submit(&self, req: Arc<Request>) -> Result<(), Arc<Request>> {
        let Ok(idx) = self.registration() else { return Err(req) };
        if self.inflight.load(Ordering::Acquire) >= self.cap {
            stats::add(&C.uring_full);
            return Err(req);
        }
        let Some(entry) = sqe(&req) else { return Err(req) };
        let raw = Arc::into_raw(req.clone());
        let entry = entry.user_data(raw as u64);
        self.inflight.fetch_add(1, Ordering::AcqRel);
        let _g = self.sq.lock();
        // SAFETY: `sq` serialises every producer of this ring.
        let mut q = unsafe { self.ring.submission_shared() };
        // SAFETY: the buffer and the Arc in user_data stay valid until the
        // completion is reaped.
        if unsafe { q.push(&entry) }.is_err() {
            // Full of entries not yet taken by the kernel: let it take them.
            drop(q);
            let _ = enter(idx, ENTRIES, 0, 0);
            // SAFETY: as above.
            q = unsafe { self.ring.submission_shared() };
            if unsafe { q.push(&entry) }.is_err() {
                drop(q);
                self.inflight.fetch_sub(1, Ordering::AcqRel);
                // SAFETY: the kernel never saw it: reclaim the Arc.
                drop(unsafe { Arc::from_raw(raw) });
                stats::add(&C.uring_full);
                return Err(req);
            }
        }
        let n = q.len() as u32;
        drop(q);
        loop {
            match enter(idx, n, 0, 0) {
                Ok(_) => break,
                Err(libc::EINTR | libc::EAGAIN | libc::EBUSY) => std::thread::yield_now(),
                Err(e) => {
                    // The entry stays queued; the next enter takes it.
                    log::warn(format_args!("io_uring_enter failed: errno {e}"));
                    break;
                }
            }
        }
        stats::add(&C.uring);
        Ok(())
    }

    fn take(&self, done: &mut Vec<(u64, i32)>) {
        // SAFETY: the reaper is the only consumer of the completion queue.
        let q = unsafe { self.ring.completion_shared() };
        done.extend(q.map(|c| (c.user_data(), c.result())));
    }

    fn reap(&self, eng: &'static Engine) {
        let idx = match self.registration() {
            Ok(i) => i,
            Err(e) => {
                log::warn(format_args!("io_uring reaper cannot register the ring: errno {e}"));
                return;
            }
        };
        let spin = std::time::Duration::from_micros(config::get().spin_us as u64);
        let mut done: Vec<(u64, i32)> = Vec::with_capacity(256);
        loop {
            self.take(&mut done);
            if done.is_empty() && !spin.is_zero() && self.inflight.load(Ordering::Acquire) > 0 {
                let start = std::time::Instant::now();
                while done.is_empty() && start.elapsed() < spin {
                    core::hint::spin_loop();
                    self.take(&mut done);
                }
            }
            if done.is_empty() {
                if self.is_lost() && self.inflight.load(Ordering::Acquire) == 0 {
                    return;
                }
                match enter(idx, 0, 1, IORING_ENTER_GETEVENTS) {
                    Ok(_) | Err(libc::EINTR | libc::EAGAIN | libc::EBUSY | libc::ETIME) => {}
                    Err(e) => {
                        log::warn(format_args!("io_uring_enter (wait) failed: errno {e}"));
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                }
                continue;
            }
            let _batch = crate::wait::Batch::new();
            for (ud, res) in done.drain(..) {
                // SAFETY: user_data is the Arc leaked in submit.
                let req = unsafe { Arc::from_raw(ud as *const Request) };
                self.inflight.fetch_sub(1, Ordering::AcqRel);
                let before = req.progress.load(Ordering::Relaxed) as isize;
                // A pipe or socket took part of a write: write() would go on
                // blocking until all is written, so submit the rest.
                if req.stream && req.op == Op::Write && res > 0 && (before + res as isize) < req.nbytes as isize {
                    req.progress.store(before as usize + res as usize, Ordering::Relaxed);
                    if let Err(req) = self.submit(req) {
                        eng.pool.submit(eng, req);
                    }
                    continue;
                }
                let (ret, err) = match res {
                    r if r < 0 && before > 0 => (before, 0),
                    r if r < 0 => (-1, -r),
                    r => (r as isize + before, 0),
                };
                finish(eng, req, ret, err, true, true);
            }
        }
    }
}
