//! One request, copied out of the user's aiocb at submission (POSIX forbids
//! changing an aiocb in flight; glibc reads it later, we read it once).
//!
//! A request is shared (`Arc`) by the per-fd table, the backend queue that
//! holds it and a canceller. Who may complete it is decided by one atomic
//! state: WAITING (in its fd queue) and QUEUED (in a backend queue) can be
//! cancelled; RUNNING belongs to the backend; DONE is final. Every
//! transition out of WAITING/QUEUED is a compare-and-swap, so exactly one
//! party completes each request.
use crate::abi::glibc::{Aiocb, Sigevent};
use crate::abi::kernel::Iocb;
use crate::notify::Notify;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
    Fsync,
    Fdsync,
    /// An opcode glibc accepts at submission and fails with EINVAL later.
    Invalid,
}

impl Op {
    pub fn is_rw(self) -> bool {
        matches!(self, Op::Read | Op::Write)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Kaio,
    /// A buffered regular file or block device: try `RWF_NOWAIT` in the
    /// dispatching thread (served at once from the page cache); whatever
    /// would block goes to io_uring (kernel workers) if the backend allows,
    /// else the pool.
    Nowait,
    /// io_uring (pool if it is unavailable or refuses).
    Uring,
    /// AIO_SHIM_DIRECT: kernel AIO on an O_DIRECT twin (backend/twin.rs),
    /// else as `Nowait`.
    Twin,
    Pool,
}

pub const WAITING: u8 = 0;
pub const QUEUED: u8 = 1;
pub const RUNNING: u8 = 2;
pub const DONE: u8 = 3;

/// A `lio_listio` list: its remaining count (a futex word for LIO_WAIT),
/// whether any request failed, and the list notification for LIO_NOWAIT.
pub struct Group {
    pub remaining: AtomicU32,
    pub failed: AtomicBool,
    pub notify: Option<Notify>,
}

impl Group {
    /// Count one request done; true for the last one out, which then owes
    /// the list its event (`notify`) or its LIO_WAIT caller a wake-up.
    pub fn count_one(&self, failed: bool) -> bool {
        if failed {
            self.failed.store(true, Ordering::Relaxed);
        }
        crate::protocol::count_down(&self.remaining)
    }

    /// LIO_NOWAIT with a list event (sent before the last result is stored,
    /// see complete.rs), as opposed to LIO_WAIT (woken after).
    pub fn has_event(&self) -> bool {
        !matches!(self.notify, None | Some(Notify::None))
    }

    /// What the last one out does.
    pub fn last_done(&self) {
        match &self.notify {
            Some(n) => n.send(),
            None => crate::protocol::wake_zero(&self.remaining),
        }
    }

    pub fn done_one(&self, failed: bool) {
        if self.count_one(failed) {
            self.last_done();
        }
    }
}

pub struct Request {
    pub cb: *mut Aiocb,
    pub op: Op,
    pub fd: i32,
    pub buf: usize,
    pub nbytes: usize,
    pub offset: i64,
    pub reqprio: i32,
    pub notify: Notify,
    pub group: Option<Arc<Group>>,
    /// Runs alone on its fd, after everything submitted before it (streams,
    /// O_APPEND writes, fsync barriers).
    pub exclusive: bool,
    /// A pipe, socket or character device (no file offset).
    pub stream: bool,
    /// The fd is O_DIRECT (no page cache, no inode-lock convoy).
    pub direct: bool,
    pub route: Route,
    /// Slot tag written to the aiocb's `__next_prio` (see slots.rs).
    pub tag: u64,
    pub state: AtomicU8,
    /// Bytes already transferred by a partial `RWF_NOWAIT` attempt; the pool
    /// does the rest (see backend/nowait.rs).
    pub progress: AtomicUsize,
    /// The kernel request while this is with kernel AIO.
    pub iocb: UnsafeCell<Iocb>,
    /// AIO_SHIM_DIRECT: the aligned buffer a read goes through.
    pub bounce: UnsafeCell<Option<crate::backend::twin::Bounce>>,
    /// SIGEV_NONE, outside any list, not exclusive: a thread in
    /// `aio_suspend` that reaps its kernel AIO completion may publish it
    /// itself, async-signal-safely (backend/kaio.rs).
    pub simple: bool,
    /// Kernel AIO completions reaped in `aio_suspend` wait here for the
    /// reaper thread: the link of its stack, and the kernel's result
    /// (`PUBLISHED` once the result is already in the aiocb).
    pub next: AtomicPtr<Request>,
    pub kres: AtomicI64,
}

/// `kres` of a request whose result a waiter already published.
pub const PUBLISHED: i64 = i64::MIN;

// SAFETY: `cb` is the user's aiocb, which the user keeps alive and
// unchanged while the request is in flight; `iocb` is touched only by the
// backend that owns the request in state QUEUED/RUNNING.
unsafe impl Send for Request {}
unsafe impl Sync for Request {}

impl Request {
    pub fn claim(&self, from: u8, to: u8) -> bool {
        self.state.compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }
}

/// A sigevent as seen at submission.
pub fn read_sigevent(cb: &Aiocb) -> Sigevent {
    cb.aio_sigevent
}

#[cfg(test)]
mod tests {
    /// The side table's cost per in-flight request: the Request (in an Arc:
    /// two counters more), its slot (slots.rs) and its entry in the fd's
    /// live map (fdq.rs: key + Arc pointer, plus hash-map overhead).
    #[test]
    fn memory_per_request() {
        let req = core::mem::size_of::<super::Request>() + 16;
        let slot = 8 + 8 + 1;
        let live = 8 + 8 + 8;
        let total = req + slot + live;
        println!("memory per in-flight request: Request+Arc {req} B, slot {slot} B, fd map {live} B: about {total} B");
        assert!(total <= 512, "{total} bytes per request");
    }
}
