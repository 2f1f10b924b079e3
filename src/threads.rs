//! The shim's own threads: started on first use, named `aio-shim-*`, and
//! born with every signal blocked (the mask is blocked around the spawn,
//! so no signal can land on them even before their first instruction).
use std::io;

pub fn spawn<F: FnOnce() + Send + 'static>(name: &str, stack: usize, f: F) -> io::Result<()> {
    // SAFETY: sigset manipulation on local values and the current thread.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let r = std::thread::Builder::new().name(name.to_string()).stack_size(stack).spawn(f);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
        r.map(|_| ())
    }
}
