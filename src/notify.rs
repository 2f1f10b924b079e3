//! Notifications, copied out of the aiocb at submission (the user may free
//! or reuse the aiocb the moment its result is visible):
//!
//! * SIGEV_NONE and unknown values: nothing (glibc ignores unknown values);
//! * SIGEV_SIGNAL: `rt_sigqueueinfo(getpid())` with SI_ASYNCIO, our pid and
//!   uid and the user's value: process-directed, exactly like glibc. A bad
//!   signal number fails the request with EINVAL (glibc stores that too,
//!   after the fact);
//! * SIGEV_THREAD: a new thread per notification, with the user's
//!   attributes or detached defaults, all signals unblocked, like glibc;
//! * SIGEV_THREAD_ID: delivered to the named thread (glibc ignores it).
use crate::abi::glibc::{Sigevent, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID};
use crate::{log, stats, sys};
use libc::{c_int, c_void};

#[derive(Clone, Copy, Debug)]
pub enum Notify {
    None,
    Signal { signo: c_int, value: usize },
    Thread { func: usize, value: usize, attr: usize },
    ThreadId { tid: libc::pid_t, signo: c_int, value: usize },
}

/// Signal numbers `rt_sigqueueinfo` accepts (0 only checks permission).
fn valid_signal(signo: c_int) -> bool {
    (0..=64).contains(&signo)
}

impl Notify {
    pub fn from_sigevent(s: &Sigevent) -> Notify {
        match s.sigev_notify {
            SIGEV_SIGNAL => Notify::Signal { signo: s.sigev_signo, value: s.sigev_value },
            SIGEV_THREAD => Notify::Thread {
                func: s.sigev_notify_function,
                value: s.sigev_value,
                attr: s.sigev_notify_attributes,
            },
            SIGEV_THREAD_ID => Notify::ThreadId { tid: s.thread_id(), signo: s.sigev_signo, value: s.sigev_value },
            _ => Notify::None,
        }
    }

    /// The error a request with this notification ends with regardless of
    /// its I/O (glibc: the failed `rt_sigqueueinfo` overwrites the result).
    pub fn forced_error(&self) -> Option<i32> {
        match *self {
            Notify::Signal { signo, .. } if !valid_signal(signo) => Some(libc::EINVAL),
            _ => None,
        }
    }

    /// A signal (process- or thread-directed): glibc queues it before the
    /// result becomes visible, see complete.rs.
    pub fn is_signal(&self) -> bool {
        matches!(self, Notify::Signal { .. } | Notify::ThreadId { .. })
    }

    /// The signal this notification sends, built now (see
    /// `sys::AsyncioSignal`); None for the others and for a bad signal
    /// number.
    pub fn ready(&self) -> Ready {
        match *self {
            Notify::Signal { signo, value } if valid_signal(signo) => Ready(Some(sys::AsyncioSignal::new(None, signo, value))),
            Notify::ThreadId { tid, signo, value } => Ready(Some(sys::AsyncioSignal::new(Some(tid), signo, value))),
            _ => Ready(None),
        }
    }

    pub fn send(&self) {
        match *self {
            Notify::None => {}
            Notify::Signal { .. } | Notify::ThreadId { .. } => self.ready().send(),
            Notify::Thread { func, value, attr } => start_thread(func, value, attr),
        }
    }
}

/// A signal notification ready to queue (or nothing to send).
pub struct Ready(Option<sys::AsyncioSignal>);

impl Ready {
    pub fn send(&self) {
        if let Some(s) = &self.0 {
            if let Err(e) = s.queue() {
                stats::add(&stats::C.notify_failed);
                let signo = s.signo();
                match s.tid() {
                    None => log::warn(format_args!("cannot queue signal {signo}: errno {e}")),
                    Some(tid) => log::warn(format_args!("cannot queue signal {signo} to thread {tid}: errno {e}")),
                }
            }
        }
    }
}

struct ThreadArg {
    func: usize,
    value: usize,
}

/// Runs in the notification thread. "C-unwind": the user's function may
/// call pthread_exit, which unwinds through this frame.
extern "C-unwind" fn notify_thread(arg: *mut c_void) -> *mut c_void {
    // SAFETY: arg is the Box<ThreadArg> leaked by start_thread.
    let a = unsafe { Box::from_raw(arg as *mut ThreadArg) };
    let (func, value) = (a.func, a.value);
    drop(a);
    // glibc's notification threads run with every signal unblocked.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, core::ptr::null_mut());
    }
    if func != 0 {
        // SAFETY: the user's `void (*)(union sigval)`; a union sigval is
        // passed like a pointer-sized integer on LP64 ABIs.
        let f: extern "C-unwind" fn(usize) = unsafe { core::mem::transmute(func) };
        f(value);
    }
    core::ptr::null_mut()
}

fn start_thread(func: usize, value: usize, attr: usize) {
    crate::threads::settle_malloc_arenas();
    let arg = Box::into_raw(Box::new(ThreadArg { func, value })) as *mut c_void;
    // SAFETY: plain pthread calls; `entry` has the C signature pthread expects
    // (it is only allowed to unwind by forced unwinding, which C code permits).
    unsafe {
        let entry: extern "C" fn(*mut c_void) -> *mut c_void = core::mem::transmute(notify_thread as *const ());
        let mut own: libc::pthread_attr_t = core::mem::zeroed();
        let pattr = if attr == 0 {
            libc::pthread_attr_init(&mut own);
            libc::pthread_attr_setdetachstate(&mut own, libc::PTHREAD_CREATE_DETACHED);
            &own as *const libc::pthread_attr_t
        } else {
            attr as *const libc::pthread_attr_t
        };
        let mut tid: libc::pthread_t = 0;
        // glibc drops the notification when the thread cannot be created;
        // we retry for a while (RLIMIT_NPROC, a thread storm) before giving up.
        let mut delay_us = 100;
        let mut rc = libc::pthread_create(&mut tid, pattr, entry, arg);
        while rc == libc::EAGAIN && delay_us <= 200_000 {
            libc::usleep(delay_us);
            delay_us *= 2;
            rc = libc::pthread_create(&mut tid, pattr, entry, arg);
        }
        if attr == 0 {
            libc::pthread_attr_destroy(&mut own);
        }
        if rc != 0 {
            drop(Box::from_raw(arg as *mut ThreadArg));
            stats::add(&stats::C.notify_failed);
            log::warn(format_args!("cannot start a SIGEV_THREAD notification thread: errno {rc}"));
        }
    }
}
