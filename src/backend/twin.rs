//! `AIO_SHIM_DIRECT=1`: buffered regular files served by kernel AIO
//! through an O_DIRECT "twin" of the program's descriptor (what Bull's
//! libposix-aio required of its users, done for them).
//!
//! The twins live in a file table the program cannot see. The
//! `aio-shim-twin` thread unshares its fd table (`unshare(CLONE_FILES)`)
//! and closes every inherited copy at once, so:
//! * closing a twin never drops the program's POSIX record locks (the
//!   kernel drops a process's locks on a file when *its* table closes any
//!   fd of it; the twin thread's table is another owner);
//! * the program's table never holds a twin: no fd to leak across exec,
//!   nothing for a close-everything loop to break.
//!
//! The thread opens `/proc/self/fd/N` (the program's table) with O_DIRECT,
//! keyed by N and checked against the file's device and inode before each
//! use: a closed or reused N never reaches the old file (the twin is
//! reopened, or the request falls back). It submits the request with
//! `io_submit` into the engine's kernel AIO context; the kaio reaper
//! completes it. Reads of any alignment are widened to the direct I/O
//! alignment through a bounce buffer; aligned writes go straight from the
//! user's buffer; unaligned writes never come here (route.rs).
//!
//! Everything this thread starts would share its private table, so it
//! starts nothing: the kernel AIO context and reaper are set up by the
//! submitter before the first hand-over, and what the twin cannot serve
//! goes to an already running pool worker (`Pool::submit_nospawn`).
//!
//! Lock: `queue` (submitters push, the twin thread pops). The twin table
//! belongs to the twin thread alone.
use crate::abi::kernel::{IOCB_CMD_PREAD, IOCB_CMD_PWRITE};
use crate::engine::Engine;
use crate::request::{Op, Request};
use crate::stats::{self, C};
use crate::{log, threads};
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Direct I/O alignment assumed when statx cannot tell (STATX_DIOALIGN).
const DEFAULT_ALIGN: u64 = 4096;
/// Larger requests take the usual way (and a bounce buffer stays small).
const MAX_TWIN_IO: usize = 64 << 20;

#[derive(Default)]
pub struct Twins {
    queue: Mutex<VecDeque<Arc<Request>>>,
    cv: Condvar,
    started: AtomicBool,
    failed: AtomicBool,
}

/// A bounce buffer standing in for the user's buffer of a read.
pub struct Bounce {
    ptr: *mut u8,
    len: usize,
    /// Bytes between the aligned start and the user's offset.
    skip: usize,
}

// SAFETY: owned by one request at a time.
unsafe impl Send for Bounce {}

impl Drop for Bounce {
    fn drop(&mut self) {
        // SAFETY: allocated by posix_memalign in `bounce_for`.
        unsafe { libc::free(self.ptr as *mut libc::c_void) };
    }
}

/// Finish a read that went through a bounce buffer: copy what the user
/// asked for, and turn the widened byte count into theirs.
pub fn unbounce(req: &Request, res: i64) -> i64 {
    // SAFETY: the bounce belongs to this request, which the reaper owns now.
    let Some(b) = (unsafe { (*req.bounce.get()).take() }) else { return res };
    if res < 0 {
        return res;
    }
    let got = (res as usize).saturating_sub(b.skip).min(req.nbytes);
    // SAFETY: b.ptr holds at least skip + got bytes; the user's buffer
    // holds nbytes.
    unsafe { core::ptr::copy_nonoverlapping(b.ptr.add(b.skip), req.buf as *mut u8, got) };
    debug_assert!(b.skip + got <= b.len);
    got as i64
}

struct TwinFd {
    fd: i32,
    dev_ino: (u64, u64),
    align: u64,
}

impl Twins {
    /// Queue `req` for the twin thread; false if direct mode cannot work
    /// here (the caller routes it the usual way).
    pub fn submit(&'static self, eng: &'static Engine, req: Arc<Request>) -> Result<(), Arc<Request>> {
        if self.failed.load(Ordering::Acquire) || eng.kaio().is_none() {
            return Err(req);
        }
        if !self.started.swap(true, Ordering::AcqRel)
            && threads::spawn("aio-shim-twin", 256 << 10, move || self.run(eng)).is_err()
        {
            self.failed.store(true, Ordering::Release);
            log::warn(format_args!("cannot start the O_DIRECT twin thread; AIO_SHIM_DIRECT off"));
            return Err(req);
        }
        // The twin thread must never start a thread (it would inherit its
        // private fd table): what it hands back goes to an existing worker.
        eng.pool.ensure_started(eng);
        self.queue.lock().push_back(req);
        self.cv.notify_one();
        Ok(())
    }

    fn run(&'static self, eng: &'static Engine) {
        // A private fd table, emptied: see the module comment.
        // SAFETY: plain syscalls on this thread's own table.
        let private = unsafe { libc::unshare(libc::CLONE_FILES) } == 0
            && unsafe { libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) } == 0;
        if !private {
            self.failed.store(true, Ordering::Release);
            log::warn(format_args!("twin thread cannot get a private fd table; AIO_SHIM_DIRECT off"));
        }
        let mut twins: HashMap<i32, TwinFd> = HashMap::new();
        loop {
            let req = {
                let mut q = self.queue.lock();
                loop {
                    if let Some(r) = q.pop_front() {
                        break r;
                    }
                    self.cv.wait(&mut q);
                }
            };
            if !private {
                elsewhere(eng, req);
                continue;
            }
            match twin_for(&mut twins, req.fd) {
                Some(t) => submit_direct(eng, t, req),
                None => elsewhere(eng, req),
            }
        }
    }
}

/// A request the twin cannot serve. This thread's fd table is not the
/// program's, so it must not try the I/O itself: the pool does it.
fn elsewhere(eng: &'static Engine, req: Arc<Request>) {
    stats::add(&C.fallback_twin);
    eng.pool.submit_nospawn(req)
}

/// The regular file behind the program's `fd`, through /proc (this
/// thread's fd table is its own), asking statx for the type and inode
/// only: a stat that reports the ctime would make the program's next write
/// stamp and dirty the inode (sys.rs `file_identity`).
fn stat_target(fd: i32) -> Option<(u64, u64)> {
    let path = format!("/proc/self/fd/{fd}\0");
    let path = core::ffi::CStr::from_bytes_with_nul(path.as_bytes()).ok()?;
    let (mode, dev_ino) = crate::sys::path_identity(path).ok()?;
    (mode & libc::S_IFMT == libc::S_IFREG).then_some(dev_ino)
}

/// The twin of the program's `fd`, (re)opened if `fd` now names another
/// file. Runs on the twin thread only.
fn twin_for(twins: &mut HashMap<i32, TwinFd>, fd: i32) -> Option<&TwinFd> {
    let target = stat_target(fd)?;
    if twins.get(&fd).is_some_and(|t| t.dev_ino != target) {
        let old = twins.remove(&fd).expect("present");
        // SAFETY: our private table's fd; the program's locks are not ours.
        unsafe { libc::close(old.fd) };
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = twins.entry(fd) {
        let path = format!("/proc/self/fd/{fd}\0");
        // The program's own access mode, never more: an aio_write on its
        // O_RDONLY fd must still fail with EBADF.
        let acc = access_mode(fd)?;
        // SAFETY: NUL-terminated path.
        let nfd = unsafe { libc::open(path.as_ptr() as *const libc::c_char, acc | libc::O_DIRECT | libc::O_CLOEXEC) };
        if nfd < 0 {
            return None;
        }
        // The file may have changed between stat and open.
        if crate::sys::file_identity(nfd).ok().map(|(_, di)| di) != Some(target) {
            // SAFETY: our private fd.
            unsafe { libc::close(nfd) };
            return None;
        }
        slot.insert(TwinFd { fd: nfd, dev_ino: target, align: dio_align(nfd) });
    }
    twins.get(&fd)
}

/// The access mode (O_RDONLY/O_WRONLY/O_RDWR) of the program's `fd`, from
/// /proc/self/fdinfo (its table is not ours to fcntl).
fn access_mode(fd: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?.trim();
    Some(i32::from_str_radix(flags, 8).ok()? & libc::O_ACCMODE)
}

/// The file's direct I/O alignment (offset and memory), from statx.
fn dio_align(fd: i32) -> u64 {
    const STATX_DIOALIGN: u32 = 0x2000;
    // SAFETY: valid out pointer; AT_EMPTY_PATH on our own fd.
    let mut sx: libc::statx = unsafe { core::mem::zeroed() };
    let ok = unsafe { libc::statx(fd, c"".as_ptr(), libc::AT_EMPTY_PATH, STATX_DIOALIGN, &mut sx) } == 0;
    if ok && sx.stx_mask & STATX_DIOALIGN != 0 && sx.stx_dio_offset_align > 0 {
        (sx.stx_dio_offset_align as u64).max(sx.stx_dio_mem_align as u64).max(512)
    } else {
        DEFAULT_ALIGN
    }
}

fn aligned(x: u64, a: u64) -> bool {
    x.is_multiple_of(a)
}

fn submit_direct(eng: &'static Engine, t: &TwinFd, req: Arc<Request>) {
    let a = t.align;
    // Huge or negative ranges: pread's own errors (EFAULT, EINVAL) from the pool.
    if req.offset < 0 || req.nbytes > MAX_TWIN_IO {
        return elsewhere(eng, req);
    }
    let (off, len, buf) = (req.offset as u64, req.nbytes as u64, req.buf as u64);
    if req.op == Op::Write && crate::sys::beyond_fsize(off + len) {
        return elsewhere(eng, req);
    }
    let straight = aligned(off, a) && aligned(len, a) && aligned(buf, a);
    let (opcode, io_buf, io_off, io_len) = match req.op {
        Op::Write if straight => (IOCB_CMD_PWRITE, buf, off, len),
        Op::Read if straight => (IOCB_CMD_PREAD, buf, off, len),
        Op::Read => {
            let start = off / a * a;
            let end = (off + len).div_ceil(a) * a;
            let blen = (end - start) as usize;
            let mut p: *mut libc::c_void = core::ptr::null_mut();
            // SAFETY: valid out pointer; power-of-two alignment.
            if unsafe { libc::posix_memalign(&mut p, a as usize, blen) } != 0 {
                return elsewhere(eng, req);
            }
            // SAFETY: only the twin thread touches the bounce before submit.
            unsafe { *req.bounce.get() = Some(Bounce { ptr: p as *mut u8, len: blen, skip: (off - start) as usize }) };
            stats::add(&C.twin_bounce);
            (IOCB_CMD_PREAD, p as u64, start, blen as u64)
        }
        _ => return elsewhere(eng, req),
    };
    let Some(k) = eng.kaio() else { return elsewhere(eng, req) };
    let iocb = crate::backend::kaio::fill_iocb(&req, opcode, t.fd, io_buf, io_off as i64, io_len);
    // SAFETY: fill_iocb leaked this Arc into the iocb.
    let raw = unsafe { (*iocb).aio_data } as *const Request;
    match k.submit_raw(iocb) {
        Ok(()) => stats::add(&C.twin),
        Err(e) => {
            // SAFETY: the kernel did not take it: reclaim the Arc.
            drop(unsafe { Arc::from_raw(raw) });
            // SAFETY: as above, the bounce is ours again.
            drop(unsafe { (*req.bounce.get()).take() });
            log::debug(format_args!("twin io_submit failed (errno {e}); buffered path"));
            elsewhere(eng, req)
        }
    }
}
