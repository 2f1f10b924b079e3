//! Which backend serves a request, decided once at submission from the fd's
//! kind and flags and the `AIO_SHIM_BACKEND` setting.
//!
//! * O_DIRECT regular files and block devices, reads and writes: kernel AIO
//!   (truly asynchronous there), unless the backend setting says `pool`.
//! * Positional reads and writes on buffered regular files and block
//!   devices: `RWF_NOWAIT` first (backend/nowait.rs: served at once when
//!   the page cache has the data), the pool for whatever would block.
//!   `io_submit` itself would do buffered I/O inline and block the submitter.
//! * Everything else (pipes, sockets, ttys, O_APPEND writes, fsync): the
//!   worker pool, with the per-fd order of fdq.rs (a read on an empty pipe
//!   blocks for ever: never in the submitter).
use crate::config::{self, Backend};
use crate::request::{Op, Route};
use crate::stats::{self, C};

/// What submission learns about an fd with two syscalls.
#[derive(Clone, Copy, Debug)]
pub struct FdInfo {
    pub flags: i32,
    pub mode: u32,
}

impl FdInfo {
    /// `Err(errno)` for a closed fd (EBADF), like glibc reports later.
    /// `flags`: F_GETFL's answer if the caller has it, else -1.
    pub fn probe(fd: i32, flags: i32) -> Result<FdInfo, i32> {
        // SAFETY: fcntl/fstat on any int are safe.
        let flags = if flags >= 0 { flags } else { unsafe { libc::fcntl(fd, libc::F_GETFL) } };
        if flags < 0 {
            return Err(libc::EBADF);
        }
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: valid out pointer.
        if unsafe { libc::fstat(fd, &mut st) } < 0 {
            return Err(libc::EBADF);
        }
        Ok(FdInfo { flags, mode: st.st_mode })
    }
    pub fn is_stream(&self) -> bool {
        matches!(self.mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFSOCK | libc::S_IFCHR)
    }
    fn is_file_or_block(&self) -> bool {
        matches!(self.mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFBLK)
    }
    pub fn is_direct(&self) -> bool {
        self.flags & libc::O_DIRECT != 0
    }
    pub fn is_append(&self) -> bool {
        self.flags & libc::O_APPEND != 0
    }
}

/// Does this request have to run alone, in submission order, on its fd?
pub fn exclusive(op: Op, info: &FdInfo) -> bool {
    match op {
        Op::Fsync | Op::Fdsync => true,
        Op::Write => info.is_stream() || info.is_append(),
        Op::Read => info.is_stream(),
        Op::Invalid => false,
    }
}

pub fn choose(op: Op, info: &FdInfo, exclusive: bool, kaio_ok: impl FnOnce() -> bool) -> Route {
    let backend = config::get().backend;
    if backend == Backend::Pool {
        stats::add(&C.fallback_backend_setting);
        return Route::Pool;
    }
    if !op.is_rw() {
        if op != Op::Invalid {
            stats::add(&C.fallback_fsync);
        }
        return Route::Pool;
    }
    if info.is_stream() {
        stats::add(&C.fallback_stream);
        return Route::Pool;
    }
    if !info.is_file_or_block() {
        stats::add(&C.fallback_not_direct);
        return Route::Pool;
    }
    if !info.is_direct() {
        if exclusive {
            stats::add(&C.fallback_not_direct);
            return Route::Pool;
        }
        return Route::Nowait;
    }
    if !kaio_ok() {
        stats::add(&C.fallback_io_setup);
        return Route::Pool;
    }
    Route::Kaio
}
