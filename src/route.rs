//! Which backend serves a request, decided once at submission from the fd's
//! kind and flags and the `AIO_SHIM_BACKEND` setting.
//!
//! * O_DIRECT regular files and block devices, reads and writes: kernel AIO
//!   (truly asynchronous there), unless the backend setting says `pool`.
//! * Positional reads and writes on buffered regular files and block
//!   devices: `RWF_NOWAIT` first (backend/nowait.rs: served at once when
//!   the page cache has the data), the pool for whatever would block.
//!   `io_submit` itself would do buffered I/O inline and block the submitter.
//!   What would block goes to the pool. (Measured against io_uring's
//!   kernel workers, `IOSQE_ASYNC`: fio cold 4 KiB random reads at iodepth
//!   32 gave the pool 49-51k IOPS, io_uring 43-46k, and io_uring_enter
//!   made the submitter's share of a cold run 20-36% against 10-15%.)
//!   A request with a signal notification (SIGEV_SIGNAL, SIGEV_THREAD_ID)
//!   always goes to the pool (complete.rs `to_normal_path`). Served in a
//!   program's thread, its handler would run inside `aio_read` (the signal
//!   goes to the one thread not blocking it, the caller), which glibc never
//!   does, and each such signal would be delivered on its own, where
//!   signals a worker sends while one is pending merge.
//! * Pipes and sockets: io_uring (auto, uring: a read on an empty pipe
//!   waits in the ring, not in a thread) or the pool (kaio), with the
//!   per-fd order of fdq.rs. O_APPEND writes on buffered files, character
//!   devices, O_NONBLOCK streams and anything io_uring cannot take: the pool.
//! * fsync: the pool (auto, kaio, pool). It blocks wherever it runs, and
//!   io_uring runs it in one of its kernel workers: the same blocked thread,
//!   plus an io_uring_enter in the submitter and a hop through the reaper.
//!   Measured, fio posixaio buffered 4 KiB random writes with an fsync
//!   every 4, iodepth 8: 10-11k IOPS with io_uring's fsync, 17k with the
//!   pool's, glibc 17-18k. `AIO_SHIM_BACKEND=uring` sends it to io_uring
//!   all the same.
//! * `AIO_SHIM_DIRECT=1`: buffered regular files go to kernel AIO on an
//!   O_DIRECT twin (backend/twin.rs); what the twin cannot serve (unaligned
//!   writes, no O_DIRECT on the filesystem) takes the usual way.
//! * `AIO_SHIM_BACKEND=uring` sends O_DIRECT to io_uring too; `pool` sends
//!   everything to the pool.
use crate::config::{self, Backend};
use crate::fdmemo::FdMemo;
use crate::request::{Op, Route};
use crate::stats::{self, C};

/// What submission learns about an fd with two syscalls (fcntl, statx).
#[derive(Clone, Copy, Debug)]
pub struct FdInfo {
    pub flags: i32,
    pub mode: u32,
    /// Which file: a cached FdInfo is checked against it (fd reuse).
    pub dev_ino: (u64, u64),
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
        let (mode, dev_ino) = Self::identity(fd)?;
        Ok(FdInfo { flags, mode, dev_ino })
    }

    /// The fd's kind and flags: `cached` (from fdq.rs `FdTable::cached`)
    /// if the fd is still that file, else probed. `flags`: its F_GETFL
    /// flags if the caller just read them, else -1.
    ///
    /// A program may close the fd, or dup2 another file onto it, while its
    /// requests are in flight. Where a stale entry would do harm, the
    /// cached entry is checked: an O_DIRECT file's with one F_GETFL (its
    /// flags vouch for its kind, `known_direct`, which also remembers
    /// O_DIRECT files between bursts of requests), the others with one
    /// statx (sys.rs `file_identity`).
    /// A pipe taken for an O_DIRECT file would block in io_submit, a
    /// regular file taken for a pipe would lose its offsets (io_uring reads
    /// a stream at its position), and an AIO_SHIM_DIRECT twin is the old
    /// file's. A buffered file's requests go to RWF_NOWAIT and the pool,
    /// which serve whatever the fd has become as glibc does (pread, then
    /// read on ESPIPE; EBADF once closed): no check. (The statx was a
    /// syscall per request, and every syscall of the submitting thread is
    /// a point where a pending signal is delivered: stress-ng --aio went
    /// from 0.53x to 0.61x of glibc without it.)
    pub fn check(cached: Option<FdInfo>, fd: i32, flags: i32) -> Result<FdInfo, i32> {
        if let Some(i) = cached {
            if !i.is_direct() && !i.is_stream() && !crate::config::get().direct {
                return Ok(i);
            }
            if i.is_stream() || !i.is_direct() {
                let (mode, dev_ino) = Self::identity(fd)?;
                if mode & libc::S_IFMT == i.mode & libc::S_IFMT && dev_ino == i.dev_ino {
                    return Ok(i);
                }
                return Self::probe(fd, flags);
            }
        }
        // O_DIRECT (or not known yet): the flags say whether the fd is
        // still an O_DIRECT file (`known_direct`).
        // SAFETY: fcntl on any int.
        let flags = if flags >= 0 { flags } else { unsafe { libc::fcntl(fd, libc::F_GETFL) } };
        if flags < 0 {
            return Err(libc::EBADF);
        }
        if let Some(i) = cached.filter(|i| i.vouched_by(flags)).or_else(|| Self::known_direct(fd, flags)) {
            return Ok(i);
        }
        let info = Self::probe(fd, flags)?;
        info.remember(fd);
        Ok(info)
    }

    /// The file's type bits and device/inode, or EBADF (sys.rs: without
    /// asking for the times, which would cost the next write).
    pub fn identity(fd: i32) -> Result<(u32, (u64, u64)), i32> {
        crate::sys::file_identity(fd)
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

    /// An O_DIRECT file or block device whose fd has exactly these F_GETFL
    /// flags now and had them when it was last probed: its kind, without
    /// the statx (0.37 µs against F_GETFL's 0.16 µs here, on every O_DIRECT
    /// request). What the flags vouch for: only a file or block device can
    /// be opened with O_DIRECT (a FIFO, /dev/null, a /proc/self/fd reopen
    /// of a pipe: EINVAL), and `open` gives every fd the kernel's
    /// O_LARGEFILE, which pipes and sockets never have, even those with
    /// O_DIRECT (pipe2's packet mode, F_SETFL). Another O_DIRECT file
    /// dup2'ed onto the fd takes the same route as the old one. What they
    /// cannot tell: a FIFO opened without O_DIRECT and then switched to it
    /// with F_SETFL (packet mode) and dup2'ed onto the number of an
    /// O_DIRECT file (RELIABILITY.md, known limits).
    pub fn known_direct(fd: i32, flags: i32) -> Option<FdInfo> {
        let (known, kind) = KNOWN_DIRECT.get(fd)?;
        (known == flags && vouches(flags)).then(|| FdInfo {
            flags,
            mode: if kind == BLOCK { libc::S_IFBLK } else { libc::S_IFREG },
            dev_ino: (0, 0),
        })
    }

    /// Do these F_GETFL flags, read just now, vouch that the fd is still
    /// the kind of file this probe found (see `known_direct`)?
    pub fn vouched_by(&self, flags: i32) -> bool {
        self.flags == flags && self.is_file_or_block() && vouches(flags)
    }

    /// Remember a probed O_DIRECT file or block device for `known_direct`.
    pub fn remember(&self, fd: i32) {
        let kind = match self.mode & libc::S_IFMT {
            libc::S_IFREG => FILE,
            libc::S_IFBLK => BLOCK,
            _ => return,
        };
        if vouches(self.flags) {
            KNOWN_DIRECT.set(fd, self.flags, kind);
        }
    }
}

/// The kernel's O_LARGEFILE, which F_GETFL reports (glibc's headers say 0
/// on 64-bit): 0 where unknown, and then nothing is remembered.
#[cfg(target_arch = "x86_64")]
const KERNEL_O_LARGEFILE: i32 = 0o100000;
#[cfg(target_arch = "aarch64")]
const KERNEL_O_LARGEFILE: i32 = 0o400000;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const KERNEL_O_LARGEFILE: i32 = 0;

/// O_DIRECT files and block devices by fd number (fdmemo.rs); the tag is
/// the kind.
static KNOWN_DIRECT: FdMemo = FdMemo::new();
const FILE: u8 = 1;
const BLOCK: u8 = 2;

/// Flags that can only be an O_DIRECT file's or block device's (see
/// `known_direct`).
fn vouches(flags: i32) -> bool {
    let want = libc::O_DIRECT | KERNEL_O_LARGEFILE;
    KERNEL_O_LARGEFILE != 0 && flags & want == want
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
    let uring = matches!(backend, Backend::Auto | Backend::Uring);
    if !op.is_rw() {
        if op == Op::Invalid {
            return Route::Pool;
        }
        if backend == Backend::Uring {
            return Route::Uring;
        }
        stats::add(&C.fallback_fsync);
        return Route::Pool;
    }
    if info.is_stream() {
        // Pipes and sockets wait in io_uring without a thread; character
        // devices keep glibc's pread-then-read on a worker.
        // O_NONBLOCK ones too: io_uring would wait where read() says EAGAIN.
        if uring && info.mode & libc::S_IFMT != libc::S_IFCHR && info.flags & libc::O_NONBLOCK == 0 {
            return Route::Uring;
        }
        stats::add(&C.fallback_stream);
        return Route::Pool;
    }
    if !info.is_file_or_block() {
        stats::add(&C.fallback_not_direct);
        return Route::Pool;
    }
    if !info.is_direct() {
        if exclusive {
            // O_APPEND writes, in order, one at a time.
            stats::add(&C.fallback_not_direct);
            return Route::Pool;
        }
        if config::get().direct && info.mode & libc::S_IFMT == libc::S_IFREG {
            return Route::Twin;
        }
        return Route::Nowait;
    }
    if backend == Backend::Uring {
        return Route::Uring;
    }
    if !kaio_ok() {
        stats::add(&C.fallback_io_setup);
        return Route::Pool;
    }
    Route::Kaio
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn getfl(fd: i32) -> i32 {
        unsafe { libc::fcntl(fd, libc::F_GETFL) }
    }

    /// A probed O_DIRECT file is known by its flags; pipes with O_DIRECT
    /// (packet mode) and buffered files never pass for one.
    #[test]
    fn known_direct_only_vouches_for_files() {
        use std::os::unix::fs::OpenOptionsExt;
        // On the disk the project lives on (tmpfs may refuse O_DIRECT).
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target"))
            .join(format!("known-direct-{}", std::process::id()));
        let f = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true)
            .custom_flags(libc::O_DIRECT).open(&path);
        let _ = std::fs::remove_file(&path);
        let Ok(f) = f else {
            println!("SKIP: no O_DIRECT on this filesystem");
            return;
        };
        let fd = f.as_raw_fd();
        let flags = getfl(fd);
        let info = FdInfo::probe(fd, flags).unwrap();
        assert!(info.vouched_by(flags));
        assert!(!info.vouched_by(flags & !libc::O_DIRECT));
        info.remember(fd);
        let known = FdInfo::known_direct(fd, flags).expect("remembered");
        assert_eq!(known.mode & libc::S_IFMT, libc::S_IFREG);
        assert!(known.is_direct());
        assert!(FdInfo::known_direct(fd + 1024, flags).is_none(), "another fd number");
        assert!(FdInfo::known_direct(fd, flags | libc::O_APPEND).is_none(), "other flags");

        let mut p = [0; 2];
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_DIRECT) }, 0);
        let mut q = [0; 2];
        assert_eq!(unsafe { libc::pipe(q.as_mut_ptr()) }, 0);
        assert_eq!(unsafe { libc::fcntl(q[0], libc::F_SETFL, libc::O_DIRECT) }, 0);
        for &pfd in p.iter().chain(q.iter()) {
            let pflags = getfl(pfd);
            // The pipe dup2'ed onto the file's number.
            assert!(!info.vouched_by(pflags), "pipe flags {pflags:#o}");
            assert!(FdInfo::known_direct(fd, pflags).is_none());
            let pinfo = FdInfo::probe(pfd, pflags).unwrap();
            pinfo.remember(pfd);
            assert!(FdInfo::known_direct(pfd, pflags).is_none(), "a pipe is never remembered");
            unsafe { libc::close(pfd) };
        }
    }
}
