//! `crate::sync` for the models: loom's atomics and mutex, a futex made of
//! a loom mutex and condition variable (the kernel's futex is exactly that:
//! the value check and the enqueue happen under the hash bucket's lock,
//! which the waker takes too), and a tiny slot table (2 slots a chunk, so
//! the models cross chunk boundaries).
pub use loom::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

pub const SLOT_CHUNK: usize = 2;
pub const SLOT_CHUNKS: usize = 4;

/// parking_lot's API (`lock()` returns the guard) over loom's mutex.
pub struct Mutex<T>(loom::sync::Mutex<T>);

impl<T> Mutex<T> {
    pub fn new(v: T) -> Mutex<T> {
        Mutex(loom::sync::Mutex::new(v))
    }
    pub fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap()
    }
}

/// One futex "hash bucket" for every word: a model has few.
struct Bucket {
    lock: loom::sync::Mutex<()>,
    cv: loom::sync::Condvar,
}

loom::lazy_static! {
    static ref BUCKET: Bucket = Bucket { lock: loom::sync::Mutex::new(()), cv: loom::sync::Condvar::new() };
}

pub fn futex_wait(word: &AtomicU32, val: u32) -> Result<(), i32> {
    let g = BUCKET.lock.lock().unwrap();
    if word.load(Ordering::SeqCst) != val {
        return Err(libc::EAGAIN);
    }
    drop(BUCKET.cv.wait(g).unwrap());
    Ok(())
}

pub fn futex_wake_all(_word: &AtomicU32) {
    let _g = BUCKET.lock.lock().unwrap();
    BUCKET.cv.notify_all();
}

pub fn backoff(_round: &mut u32) {
    loom::thread::yield_now();
}

pub fn yield_now() {
    loom::thread::yield_now();
}
