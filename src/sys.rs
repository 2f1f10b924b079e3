//! Raw syscalls the shim needs and libc does not wrap, each returning
//! `Result<_, i32>` with the errno. No state, no allocation: everything here
//! is async-signal-safe.
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

/// The siginfo glibc's `__aio_sigqueue` builds: SI_ASYNCIO, our pid and uid,
/// the user's value.
fn asyncio_siginfo(pid: libc::pid_t, signo: c_int, value: usize) -> libc::siginfo_t {
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
    let raw = Raw {
        si_signo: signo,
        si_errno: 0,
        si_code: crate::abi::glibc::SI_ASYNCIO,
        _pad0: 0,
        si_pid: pid,
        si_uid: unsafe { libc::getuid() },
        si_value: value,
        _rest: [0; 12],
    };
    // SAFETY: same size, plain data.
    unsafe { core::mem::transmute::<Raw, libc::siginfo_t>(raw) }
}

/// Process-directed signal, exactly as glibc sends it.
pub fn sigqueue_asyncio(signo: c_int, value: usize) -> Result<(), i32> {
    // SAFETY: getpid never fails.
    let pid = unsafe { libc::getpid() };
    let info = asyncio_siginfo(pid, signo, value);
    // SAFETY: info is a valid siginfo_t.
    check(unsafe { libc::syscall(libc::SYS_rt_sigqueueinfo, pid, signo, &info) }).map(|_| ())
}

/// Thread-directed signal (SIGEV_THREAD_ID).
pub fn tgsigqueue_asyncio(tid: libc::pid_t, signo: c_int, value: usize) -> Result<(), i32> {
    // SAFETY: getpid never fails.
    let pid = unsafe { libc::getpid() };
    let info = asyncio_siginfo(pid, signo, value);
    // SAFETY: info is a valid siginfo_t.
    check(unsafe { libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, tid, signo, &info) }).map(|_| ())
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

pub fn gettid() -> libc::pid_t {
    // SAFETY: plain syscall.
    unsafe { libc::syscall(libc::SYS_gettid) as libc::pid_t }
}

/// Would a write ending at byte `end` cross RLIMIT_FSIZE? Then it must be
/// done by a worker (all signals blocked), as glibc does, so that the
/// kernel's SIGXFSZ for it is not delivered to the program's thread.
pub fn beyond_fsize(end: u64) -> bool {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid out pointer.
    unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut r) == 0 && r.rlim_cur != libc::RLIM_INFINITY && end > r.rlim_cur }
}
