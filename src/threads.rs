//! The shim's own threads: started on first use, named `aio-shim-*`, and
//! born with every signal blocked (the mask is blocked around the spawn,
//! so no signal can land on them even before their first instruction).
//!
//! glibc's malloc gives each new thread an arena, and the first time a
//! process has more than 8 it counts the CPUs by *opening*
//! `/sys/devices/system/cpu/online` in that thread. In a shim thread that
//! open runs concurrently with the program: if the program had just closed
//! an fd with requests queued on it, the open took that number and a
//! worker's `pread` read the sysfs file (a read returning 0 instead of
//! EBADF; RELIABILITY.md). So before the first shim thread starts, in the
//! program's thread that asked for it, `settle_malloc_arenas` fixes
//! `M_ARENA_MAX` at the value glibc would compute itself (8 per online
//! CPU): the count, and its open, happen there, synchronously, and glibc
//! never counts again. Not done when the environment already sets the limit
//! (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES=...malloc.arena_max`), which glibc
//! honours without counting.
use std::cell::Cell;
use std::io;

// Thread-locals of the engine are never touched on the async-signal-safe
// paths (aio_error, aio_return, aio_suspend): the engine is dlopen'ed
// (shim/stub.rs), and a thread's first access to a dlopen'ed library's TLS
// may allocate inside the loader.
thread_local! {
    static INTERNAL: Cell<bool> = const { Cell::new(false) };
    static SUBMITTING: Cell<bool> = const { Cell::new(false) };
}

/// Is this thread inside `aio_read`/`aio_write`/`lio_listio` submitting?
pub fn submitting() -> bool {
    SUBMITTING.with(|c| c.get())
}

/// Marks the calling thread as submitting until dropped.
pub struct Submitting(bool);

impl Submitting {
    #[allow(clippy::new_without_default)] // a guard: made only to be held
    pub fn new() -> Submitting {
        Submitting(SUBMITTING.with(|c| c.replace(true)))
    }
}

impl Drop for Submitting {
    fn drop(&mut self) {
        SUBMITTING.with(|c| c.set(self.0));
    }
}

/// Is the caller one of the shim's own threads (all signals blocked)?
pub fn is_internal() -> bool {
    INTERNAL.with(|c| c.get())
}

/// Blocks every signal in the calling thread until dropped.
pub struct SignalsBlocked(libc::sigset_t);

impl SignalsBlocked {
    #[allow(clippy::new_without_default)] // a guard: made only to be held
    pub fn new() -> SignalsBlocked {
        // SAFETY: sigset manipulation on local values and the current thread.
        unsafe {
            let mut all: libc::sigset_t = core::mem::zeroed();
            let mut old: libc::sigset_t = core::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            SignalsBlocked(old)
        }
    }
}

impl SignalsBlocked {
    /// The mask the thread had before.
    pub fn old_mask(&self) -> &libc::sigset_t {
        &self.0
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `new` on this same thread.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, core::ptr::null_mut()) };
    }
}

static SETTLED: std::sync::Once = std::sync::Once::new();

/// See the module comment. Runs once per process (a forked child inherits
/// the setting), before the first shim thread or notification thread.
pub fn settle_malloc_arenas() {
    SETTLED.call_once(|| {
        let env = |k: &str| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
        // SAFETY: getauxval is always safe.
        let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
        let set_by_env = !secure
            && (env("MALLOC_ARENA_MAX").is_some()
                || env("GLIBC_TUNABLES").is_some_and(|t| t.contains("malloc.arena_max")));
        if set_by_env {
            return;
        }
        // SAFETY: sysconf and mallopt are plain calls.
        unsafe {
            let n = libc::sysconf(libc::_SC_NPROCESSORS_ONLN);
            let per_cpu = if core::mem::size_of::<libc::c_long>() == 4 { 2 } else { 8 };
            let max = if n >= 1 { n * per_cpu } else { 2 * per_cpu };
            libc::mallopt(libc::M_ARENA_MAX, max.min(libc::c_int::MAX as libc::c_long) as libc::c_int);
        }
    });
}

pub fn spawn<F: FnOnce() + Send + 'static>(name: &str, stack: usize, f: F) -> io::Result<()> {
    settle_malloc_arenas();
    // SAFETY: sigset manipulation on local values and the current thread.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let r = std::thread::Builder::new()
            .name(name.to_string())
            .stack_size(stack)
            .spawn(move || {
                INTERNAL.with(|c| c.set(true));
                f()
            });
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
        r.map(|_| ())
    }
}
