//! Raw syscalls the shim needs and libc does not wrap, each returning
//! `Result<_, i32>` with the errno, and the two checks built on syscalls
//! that submission makes per request (`file_identity`, `beyond_fsize`). No
//! lock, no allocation: everything here is async-signal-safe. State:
//! atomics only (which statx form the kernel takes; the RLIMIT_FSIZE cache
//! and the stub's change count it is keyed by).
use crate::abi::kernel::{AioContext, Iocb, IoEvent};
use libc::{c_int, c_long};

#[inline]
fn errno() -> i32 {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

#[inline]
pub fn set_errno(e: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e }
}

#[inline]
fn check(r: c_long) -> Result<c_long, i32> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

pub fn io_setup(nr: u32) -> Result<AioContext, i32> {
    let mut ctx: AioContext = 0;
    // SAFETY: ctx is a valid out pointer.
    check(unsafe { libc::syscall(libc::SYS_io_setup, nr as c_long, &mut ctx as *mut AioContext) })?;
    Ok(ctx)
}

/// # Safety
/// Every iocb must stay valid (and its buffer mapped) until its event is reaped.
pub unsafe fn io_submit(ctx: AioContext, iocbs: &[*mut Iocb]) -> Result<usize, i32> {
    // SAFETY: the caller keeps the iocbs alive.
    check(unsafe { libc::syscall(libc::SYS_io_submit, ctx, iocbs.len() as c_long, iocbs.as_ptr()) })
        .map(|n| n as usize)
}

pub fn io_getevents(
    ctx: AioContext,
    min: usize,
    events: &mut [IoEvent],
    timeout: Option<&libc::timespec>,
) -> Result<usize, i32> {
    let tp = timeout.map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: events is a valid buffer of events.len() entries.
    check(unsafe {
        libc::syscall(
            libc::SYS_io_getevents,
            ctx,
            min as c_long,
            events.len() as c_long,
            events.as_mut_ptr(),
            tp,
        )
    })
    .map(|n| n as usize)
}

#[cfg(target_arch = "x86_64")]
const SYS_IO_PGETEVENTS: c_long = 333;
#[cfg(target_arch = "aarch64")]
const SYS_IO_PGETEVENTS: c_long = 292;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const SYS_IO_PGETEVENTS: c_long = -1; // unknown here: ENOSYS

/// `io_pgetevents`: io_getevents with `mask` as the thread's signal mask
/// for the duration of the wait only (like ppoll). Linux 4.18.
pub fn io_pgetevents(
    ctx: AioContext,
    min: usize,
    events: &mut [IoEvent],
    timeout: &libc::timespec,
    mask: &libc::sigset_t,
) -> Result<usize, i32> {
    #[repr(C)]
    struct AioSigset {
        sigmask: *const libc::sigset_t,
        sigsetsize: usize,
    }
    // The kernel's sigset is 64 bits: the first word of glibc's.
    let set = AioSigset { sigmask: mask, sigsetsize: 8 };
    // SAFETY: valid buffers for the call's duration.
    check(unsafe {
        libc::syscall(
            SYS_IO_PGETEVENTS,
            ctx,
            min as c_long,
            events.len() as c_long,
            events.as_mut_ptr(),
            timeout as *const libc::timespec,
            &set as *const AioSigset,
        )
    })
    .map(|n| n as usize)
}

pub fn io_destroy(ctx: AioContext) {
    // SAFETY: plain syscall.
    unsafe { libc::syscall(libc::SYS_io_destroy, ctx) };
}

/// FUTEX_WAIT_BITSET|PRIVATE on `word` while it equals `val`, until the
/// absolute CLOCK_MONOTONIC `deadline` (or forever). Like glibc's waits, a
/// signal handler without SA_RESTART makes it fail with EINTR.
pub fn futex_wait(word: &core::sync::atomic::AtomicU32, val: u32, deadline: Option<&libc::timespec>) -> Result<(), i32> {
    let tp = deadline.map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: word is a valid, aligned u32 for the duration of the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            val,
            tp,
            core::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    })
    .map(|_| ())
}

extern "C-unwind" {
    /// glibc's `syscall`, declared with a fixed argument list and as able to
    /// unwind: thread cancellation unwinds out of it (see wait.rs).
    #[link_name = "syscall"]
    fn syscall_futex_unwind(
        nr: c_long,
        word: *const u32,
        op: c_int,
        val: u32,
        timeout: *const libc::timespec,
        uaddr2: *const u32,
        val3: u32,
    ) -> c_long;
}

/// `futex_wait` for a cancellation point: forced unwinding (pthread_cancel
/// with asynchronous cancellation enabled) may leave through this call.
pub fn futex_wait_unwindable(
    word: &core::sync::atomic::AtomicU32,
    val: u32,
    deadline: Option<&libc::timespec>,
) -> Result<(), i32> {
    let tp = deadline.map_or(core::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: as in futex_wait.
    check(unsafe {
        syscall_futex_unwind(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            val,
            tp,
            core::ptr::null(),
            libc::FUTEX_BITSET_MATCH_ANY as u32,
        )
    })
    .map(|_| ())
}

pub fn futex_wake_all(word: &core::sync::atomic::AtomicU32) {
    // SAFETY: as above.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, i32::MAX);
    }
}

/// A SI_ASYNCIO signal as glibc's `__aio_sigqueue` builds it (our pid and
/// uid, the user's value), made ready before it is sent: `getpid` and
/// `getuid` are done here, so `queue` is the one syscall that queues it
/// (complete.rs sends inside a window that `aio_error` waits out).
pub struct AsyncioSignal {
    pid: libc::pid_t,
    /// Thread-directed (SIGEV_THREAD_ID): the target thread.
    tid: Option<libc::pid_t>,
    signo: c_int,
    info: libc::siginfo_t,
}

impl AsyncioSignal {
    /// Process-directed, like glibc (`tid` None), or to one thread.
    pub fn new(tid: Option<libc::pid_t>, signo: c_int, value: usize) -> AsyncioSignal {
        #[repr(C)]
        struct Raw {
            si_signo: c_int,
            si_errno: c_int,
            si_code: c_int,
            _pad0: c_int,
            si_pid: libc::pid_t,
            si_uid: libc::uid_t,
            si_value: usize,
            _rest: [u64; 12],
        }
        const _: () = assert!(core::mem::size_of::<Raw>() == core::mem::size_of::<libc::siginfo_t>());
        // SAFETY: getpid/getuid never fail.
        let (pid, uid) = unsafe { (libc::getpid(), libc::getuid()) };
        let raw = Raw {
            si_signo: signo,
            si_errno: 0,
            si_code: crate::abi::glibc::SI_ASYNCIO,
            _pad0: 0,
            si_pid: pid,
            si_uid: uid,
            si_value: value,
            _rest: [0; 12],
        };
        // SAFETY: same size, plain data.
        let info = unsafe { core::mem::transmute::<Raw, libc::siginfo_t>(raw) };
        AsyncioSignal { pid, tid, signo, info }
    }

    pub fn signo(&self) -> c_int {
        self.signo
    }
    pub fn tid(&self) -> Option<libc::pid_t> {
        self.tid
    }

    pub fn queue(&self) -> Result<(), i32> {
        // SAFETY: info is a valid siginfo_t.
        check(unsafe {
            match self.tid {
                None => libc::syscall(libc::SYS_rt_sigqueueinfo, self.pid, self.signo, &self.info),
                Some(tid) => libc::syscall(libc::SYS_rt_tgsigqueueinfo, self.pid, tid, self.signo, &self.info),
            }
        })
        .map(|_| ())
    }
}

pub fn monotonic_now() -> libc::timespec {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t
}

/// `now + rel`, normalised.
pub fn deadline_after(rel: &libc::timespec) -> libc::timespec {
    let now = monotonic_now();
    let mut t = libc::timespec { tv_sec: now.tv_sec.saturating_add(rel.tv_sec), tv_nsec: now.tv_nsec + rel.tv_nsec };
    if t.tv_nsec >= 1_000_000_000 {
        t.tv_nsec -= 1_000_000_000;
        t.tv_sec = t.tv_sec.saturating_add(1);
    }
    t
}

/// A file's type bits and (device, inode), from `statx` asking for
/// nothing else. Not `fstat`: a stat that reports the ctime marks it as
/// queried on filesystems with multigrain timestamps (Linux 6.13+: ext4,
/// xfs, btrfs, tmpfs), and the next write to the file then stamps a
/// fine-grained ctime and dirties the inode: measured, an fstat before
/// each O_DIRECT write made ext4 mark the inode dirty on every write (about
/// 0.7 µs of the submitter's time per write on this machine). The path is
/// NULL where the kernel takes it (6.11+: no path lookup), else "".
/// Type and inode never change, so no attribute revalidation (DONT_SYNC).
pub fn file_identity(fd: c_int) -> Result<(u32, (u64, u64)), i32> {
    use core::sync::atomic::{AtomicU8, Ordering::Relaxed};
    /// How this kernel answers: statx with a NULL path, with "", or only
    /// fstat (no statx before 4.11, or a seccomp filter refusing it).
    const NULL_PATH: u8 = 0;
    const EMPTY_PATH: u8 = 1;
    const FSTAT: u8 = 2;
    static FORM: AtomicU8 = AtomicU8::new(NULL_PATH);
    loop {
        let form = FORM.load(Relaxed);
        if form == FSTAT {
            // SAFETY: valid out pointer; fstat on any int.
            let mut st: libc::stat = unsafe { core::mem::zeroed() };
            if unsafe { libc::fstat(fd, &mut st) } < 0 {
                return Err(libc::EBADF);
            }
            return Ok((st.st_mode, (st.st_dev, st.st_ino)));
        }
        let path = if form == NULL_PATH { core::ptr::null() } else { c"".as_ptr() };
        // SAFETY: a zeroed statx is a valid out buffer; a NULL path with
        // AT_EMPTY_PATH means the fd itself (Linux 6.11+), as "" does.
        let mut stx: libc::statx = unsafe { core::mem::zeroed() };
        let flags = libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC;
        if unsafe { libc::statx(fd, path, flags, libc::STATX_TYPE | libc::STATX_INO, &mut stx) } == 0 {
            return Ok(statx_identity(&stx));
        }
        match errno() {
            libc::EBADF => return Err(libc::EBADF),
            libc::EFAULT if form == NULL_PATH => FORM.store(EMPTY_PATH, Relaxed),
            _ => FORM.store(FSTAT, Relaxed),
        }
    }
}

fn statx_identity(stx: &libc::statx) -> (u32, (u64, u64)) {
    (stx.stx_mode as u32, (libc::makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino))
}

/// `file_identity` of the file a path names (following symlinks).
pub fn path_identity(path: &core::ffi::CStr) -> Result<(u32, (u64, u64)), i32> {
    // SAFETY: a zeroed statx is a valid out buffer; a NUL-terminated path.
    let mut stx: libc::statx = unsafe { core::mem::zeroed() };
    if unsafe { libc::statx(libc::AT_FDCWD, path.as_ptr(), libc::AT_STATX_DONT_SYNC, libc::STATX_TYPE | libc::STATX_INO, &mut stx) } < 0 {
        return Err(errno());
    }
    Ok(statx_identity(&stx))
}

/// The stub's count of RLIMIT_FSIZE changes (shim/stub.rs: bumped after
/// every setrlimit/prlimit call that names it). Null: not attached (the
/// engine loaded some other way), then every check asks the kernel.
static FSIZE_GEN: core::sync::atomic::AtomicPtr<core::sync::atomic::AtomicU32> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());
/// The cached limit and its key: change count << 33 | epoch << 1 | 1 (the
/// low bit only marks a key; 0 = none).
static FSIZE_KEY: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
static FSIZE_LIMIT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

pub fn attach_fsize_gen(gen: *const core::sync::atomic::AtomicU32) {
    FSIZE_GEN.store(gen as *mut _, core::sync::atomic::Ordering::Release);
}

/// RLIMIT_FSIZE's soft limit, cached while the stub's change count and a
/// 16 ms epoch of CLOCK_MONOTONIC_COARSE (for changes made by another
/// process, which have no order with our writes) stay the same. A value
/// read after the count was seen includes every change counted up to it,
/// so a program's own setrlimit is seen by its next write.
fn fsize_limit() -> u64 {
    use core::sync::atomic::Ordering::{Acquire, Release, SeqCst};
    let ask = || {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: valid out pointer.
        if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut r) } == 0 {
            r.rlim_cur
        } else {
            libc::RLIM_INFINITY
        }
    };
    let gen = FSIZE_GEN.load(Acquire);
    if gen.is_null() {
        return ask();
    }
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out pointer (vDSO, no syscall).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut t) };
    let epoch = ((t.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(t.tv_nsec as u64) >> 24) as u32;
    // SAFETY: the stub's static, for the life of the process.
    let count = unsafe { (*gen).load(SeqCst) };
    let key = (count as u64) << 33 | (epoch as u64) << 1 | 1;
    if FSIZE_KEY.load(Acquire) == key {
        let limit = FSIZE_LIMIT.load(Acquire);
        if FSIZE_KEY.load(SeqCst) == key {
            return limit;
        }
    }
    let limit = ask();
    // Racing writers may pair a key with a value read under a later count:
    // newer is still right for that key.
    FSIZE_KEY.store(0, SeqCst);
    FSIZE_LIMIT.store(limit, SeqCst);
    FSIZE_KEY.store(key, Release);
    limit
}

/// Would a write ending at byte `end` cross RLIMIT_FSIZE? Then it must be
/// done by a worker (all signals blocked), as glibc does, so that the
/// kernel's SIGXFSZ for it is not delivered to the program's thread.
pub fn beyond_fsize(end: u64) -> bool {
    let limit = fsize_limit();
    limit != libc::RLIM_INFINITY && end > limit
}

#[cfg(test)]
mod tests {
    use super::file_identity;
    use std::os::fd::AsRawFd;

    fn ctime(fd: i32) -> (i64, u32) {
        // SAFETY: valid out pointer; a zeroed statx is a valid buffer.
        let mut stx: libc::statx = unsafe { core::mem::zeroed() };
        let r = unsafe { libc::statx(fd, c"".as_ptr(), libc::AT_EMPTY_PATH, libc::STATX_CTIME, &mut stx) };
        assert_eq!(r, 0);
        (stx.stx_ctime.tv_sec, stx.stx_ctime.tv_nsec)
    }

    fn write1(fd: i32) {
        // SAFETY: one byte from a valid buffer.
        assert_eq!(unsafe { libc::pwrite(fd, b"x".as_ptr() as *const libc::c_void, 1, 0) }, 1);
    }

    #[test]
    fn file_identity_matches_fstat() {
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(f.as_raw_fd(), &mut st) }, 0);
        assert_eq!(file_identity(f.as_raw_fd()), Ok((st.st_mode, (st.st_dev, st.st_ino))));
        let mut p = [0; 2];
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        let (mode, _) = file_identity(p[0]).unwrap();
        assert_eq!(mode & libc::S_IFMT, libc::S_IFIFO);
        unsafe { libc::close(p[0]) };
        unsafe { libc::close(p[1]) };
        assert_eq!(file_identity(p[0]), Err(libc::EBADF));
        assert_eq!(file_identity(-1), Err(libc::EBADF));
    }

    /// Why `file_identity` is not `fstat`: on a filesystem with multigrain
    /// timestamps, a stat that reports the ctime makes the next write stamp
    /// a new fine-grained ctime (and dirty the inode). Here `fstat` between
    /// two writes must change the ctime the second write leaves (the
    /// control: without that effect the filesystem is not multigrain and
    /// the test has nothing to show), and `file_identity` must not (the
    /// write after it finds the ctime already new enough; a clock tick in
    /// between can still move it, hence "most of 8 tries").
    #[test]
    fn file_identity_does_not_stamp_the_next_write() {
        // On the disk the project lives on (not tmpfs, where /tmp may be).
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target"));
        let path = dir.join(format!("mgtime-{}", std::process::id()));
        let f = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        let fd = f.as_raw_fd();
        // After a query, one write stamps the ctime (and takes the query);
        // then the probe; then: does the next write stamp a ctime at or
        // after a clock reading taken just before it (fine-grained: it
        // was queried again), or leave the older one?
        let tries = |probe: &dyn Fn()| {
            (0..8)
                .filter(|_| {
                    ctime(fd);
                    write1(fd);
                    probe();
                    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut t) };
                    write1(fd);
                    ctime(fd) >= (t.tv_sec, t.tv_nsec as u32)
                })
                .count()
        };
        let with_fstat = tries(&|| {
            let mut st: libc::stat = unsafe { core::mem::zeroed() };
            assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
        });
        if with_fstat < 8 {
            println!("SKIP: fstat did not stamp every next write ({with_fstat}/8): no multigrain timestamps here");
            return;
        }
        let with_identity = tries(&|| {
            file_identity(fd).unwrap();
        });
        assert!(with_identity <= 2, "file_identity stamped {with_identity} of 8 next writes");
    }
}
