//! The shim's own threads: started on first use, named `aio-shim-*`, and
//! born with every signal blocked (the mask is blocked around the spawn,
//! so no signal can land on them even before their first instruction).
use std::cell::Cell;
use std::io;

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

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `new` on this same thread.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, core::ptr::null_mut()) };
    }
}

pub fn spawn<F: FnOnce() + Send + 'static>(name: &str, stack: usize, f: F) -> io::Result<()> {
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
