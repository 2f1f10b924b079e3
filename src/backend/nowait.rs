//! `RWF_NOWAIT`: buffered regular files and block devices served at once
//! from the page cache, in the thread that dispatches the request (the
//! submitter, or the completion thread that unblocked it).
//!
//! This is the kernel's `IOCB_NOWAIT` path that `io_submit` with
//! `RWF_NOWAIT` would take, without the ring round trip: one `preadv2` or
//! `pwritev2`, and the request is complete before `aio_read` returns. When
//! the data is not cached (EAGAIN) or only part of it is (a short count),
//! the pool does the rest, blocking in its own thread, never the caller's.
//! Any other error also goes to the pool, so errors are exactly glibc's
//! (`pread` semantics), and so does a file that refuses `RWF_NOWAIT`
//! (EOPNOTSUPP: some filesystems, most character devices).
//!
//! Two callers: `dispatch` (a request routed `Nowait` that may start now),
//! and the submission fast path in ops.rs (a SIGEV_NONE request on an fd
//! with nothing in flight, tried before any bookkeeping).
//!
//! A miss is not free: on a cold page `preadv2(RWF_NOWAIT)` starts the
//! readahead I/O itself before it says EAGAIN (measured: three quarters of
//! the wall time of a cold random-read run spent inside aio_read on this
//! virtio machine). So after a few misses in a row on an fd, only one
//! request in 16 tries the page cache (to notice when it warms up); the
//! rest go straight to the pool. State: a miss streak and a tick per fd
//! bucket (`fd % 256`, reads and writes apart), relaxed atomics: a heuristic, never a correctness
//! matter.
//!
//! The fast path must know that the fd is not O_DIRECT (`preadv2` there
//! would wait for the device in the caller) and, for a write, not
//! O_APPEND. An fd served from the page cache has nothing in flight, so
//! nothing caches its flags, and the F_GETFL was 9% of a warm fio run
//! (`perf`). `flags` remembers an fd's flags for 16 requests (`FLAGS`,
//! fdmemo.rs: fd, flags, uses left). What a stale answer
//! can do: if the program swaps the fd for an O_DIRECT file (close and
//! reopen, dup2, F_SETFL) between two looks, up to 15 requests are served
//! in the caller by a synchronous O_DIRECT `preadv2`/`pwritev2` (right
//! results, the caller blocked for the device); an fd closed or turned
//! into a stream fails the `preadv2` (EBADF, ESPIPE), and then the flags
//! are read again. O_APPEND on a buffered fd changes nothing here either:
//! served in the caller, writes happen in submission order, and
//! `pwritev2` appends as glibc's `pwrite` does.
use crate::request::{Op, Request};
use crate::stats::{self, C};
use crate::fdmemo::FdMemo;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

const BUCKETS: usize = 256;
/// Misses in a row after which an fd counts as cold.
const COLD_AFTER: u8 = 4;
/// While cold, one request in this many still tries.
const PROBE_EVERY: u8 = 16;

/// Requests served with one look at an fd's flags.
const FLAGS_USES: u8 = 16;
/// A buffered fd's flags, by fd number (fdmemo.rs); the tag is the number
/// of uses left.
static FLAGS: FdMemo = FdMemo::new();

/// The fd's F_GETFL flags (negative: a bad fd) for the fast path, and
/// whether they were read just now (else remembered: see the top).
/// Only flags without O_DIRECT are remembered.
pub fn flags(fd: i32) -> (i32, bool) {
    if let Some((f, uses)) = FLAGS.get(fd).filter(|&(_, uses)| uses > 1) {
        FLAGS.set(fd, f, uses - 1);
        return (f, false);
    }
    // SAFETY: fcntl on any int.
    let f = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if f < 0 || f & libc::O_DIRECT != 0 || !FLAGS.set(fd, f, FLAGS_USES) {
        FLAGS.forget(fd);
    }
    (f, true)
}

/// Reads and writes are tracked apart: a filesystem may serve buffered
/// reads with RWF_NOWAIT and refuse writes (EOPNOTSUPP).
static MISSES: [AtomicU8; 2 * BUCKETS] = [const { AtomicU8::new(0) }; 2 * BUCKETS];
static TICK: [AtomicU8; 2 * BUCKETS] = [const { AtomicU8::new(0) }; 2 * BUCKETS];

fn bucket(fd: i32, op: Op) -> usize {
    fd as u32 as usize % BUCKETS + if op == Op::Write { BUCKETS } else { 0 }
}

/// Worth a `RWF_NOWAIT` attempt on `fd` now?
fn worth_trying(fd: i32, op: Op) -> bool {
    let b = bucket(fd, op);
    MISSES[b].load(Relaxed) < COLD_AFTER || TICK[b].fetch_add(1, Relaxed).is_multiple_of(PROBE_EVERY)
}

fn record(fd: i32, op: Op, hit: bool) {
    let m = &MISSES[bucket(fd, op)];
    if hit {
        m.store(0, Relaxed);
    } else {
        let v = m.load(Relaxed);
        if v < u8::MAX {
            m.store(v + 1, Relaxed);
        }
    }
}

pub enum Outcome {
    /// Done: the byte count (may be short at EOF: with RWF_NOWAIT a short
    /// count can also mean "the rest is not cached", see `Partial`).
    Done(isize),
    /// This many bytes were transferred; the rest must be done blocking.
    Partial(usize),
    /// Nothing transferred; hand the whole request to the pool.
    WouldBlock,
    /// Not seekable (ESPIPE): a pipe, socket or tty, nothing transferred.
    NotSeekable,
}

/// Try `req` (a read or write on a buffered regular file or block device)
/// without blocking.
pub fn attempt(req: &Request) -> Outcome {
    try_rw(req.op, req.fd, req.buf, req.nbytes, req.offset)
}

/// One `preadv2`/`pwritev2` with `RWF_NOWAIT`.
pub fn try_rw(op: Op, fd: i32, buf: usize, nbytes: usize, offset: i64) -> Outcome {
    // A negative offset means "the file position" to preadv2: leave it to
    // pread, which fails it with EINVAL like glibc.
    if offset < 0 || nbytes > isize::MAX as usize {
        return Outcome::WouldBlock;
    }
    // Cheapest test first: on a file that refuses RWF_NOWAIT writes (ext4)
    // most writes stop here, without the getrlimit of the next one.
    if !worth_trying(fd, op) {
        stats::add(&C.nowait_skipped_cold);
        return Outcome::WouldBlock;
    }
    if op == Op::Write && crate::sys::beyond_fsize(offset as u64 + nbytes as u64) {
        return Outcome::WouldBlock;
    }
    let iov = libc::iovec { iov_base: buf as *mut libc::c_void, iov_len: nbytes };
    // SAFETY: the user guarantees the buffer for the request's lifetime (a
    // bad one gives EFAULT, which the pool then reports like glibc).
    let r = unsafe {
        match op {
            Op::Read => libc::preadv2(fd, &iov, 1, offset, libc::RWF_NOWAIT),
            Op::Write => libc::pwritev2(fd, &iov, 1, offset, libc::RWF_NOWAIT),
            _ => return Outcome::WouldBlock,
        }
    };
    if r < 0 {
        // SAFETY: thread-local errno.
        match unsafe { *libc::__errno_location() } {
            libc::ESPIPE => return Outcome::NotSeekable,
            libc::EOPNOTSUPP => stats::add(&C.fallback_nowait_unsupported),
            _ => stats::add(&C.fallback_would_block),
        }
        record(fd, op, false);
        return Outcome::WouldBlock;
    }
    let n = r as usize;
    // A read that stops short may have hit EOF or an uncached page; a
    // zero-byte read is EOF (would-block is EAGAIN). Writes that stop short
    // ran out of cached/reserved room.
    if n == nbytes || n == 0 {
        stats::add(&C.nowait);
        record(fd, op, true);
        Outcome::Done(r)
    } else {
        stats::add(&C.nowait_partial);
        record(fd, op, false);
        Outcome::Partial(n)
    }
}
