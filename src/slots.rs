//! Liveness tags for in-flight aiocbs, readable without a lock.
//!
//! Each submitted aiocb gets a slot; the slot's tag (slot index in the low
//! 32 bits, a per-slot generation in the high 32) is written into the
//! aiocb's `__next_prio` and into the slot. `aio_suspend` must tell "in
//! flight with us" from "says EINPROGRESS but is unknown" (glibc returns 0
//! at once for the latter, e.g. a parent's aiocb seen in a forked child):
//! it compares the aiocb's tag with the slot's, two atomic loads, no lock,
//! no allocation. Slots live in chunks that are never freed, so a stale tag
//! can always be read safely. The free list is behind a mutex (submission
//! and completion only, never the signal-safe paths).
//!
//! A request submitted to kernel AIO that a waiter may complete itself
//! (backend/kaio.rs) has `KAIO` set in its slot's tag word, by a CAS from
//! its own tag: it cannot land on a slot already freed and reused.
//!
//! Uses nothing but `crate::sync`: loom-models/ checks this file as is.
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering, SLOT_CHUNK as CHUNK, SLOT_CHUNKS as CHUNKS};

/// In a slot's tag word: the request is with kernel AIO and `simple`.
const KAIO: u64 = 1 << 63;

pub struct Slot {
    /// The live request's tag (0: free), plus `KAIO`.
    tag: AtomicU64,
    aiocb: AtomicUsize,
    /// Set while the request's signal is being sent and its result not yet
    /// stored (see complete.rs): `aio_error` waits that window out.
    completing: AtomicBool,
}

pub struct Slots {
    chunks: Box<[AtomicPtr<Slot>]>,
    free: Mutex<FreeList>,
}

struct FreeList {
    free: Vec<u32>,
    next: u32,
    gens: Vec<u32>,
}

impl Default for Slots {
    fn default() -> Self {
        Self::new()
    }
}

impl Slots {
    pub fn new() -> Slots {
        Slots {
            chunks: (0..CHUNKS).map(|_| AtomicPtr::new(core::ptr::null_mut())).collect(),
            free: Mutex::new(FreeList { free: Vec::new(), next: 0, gens: Vec::new() }),
        }
    }

    fn slot(&self, idx: u32) -> Option<&Slot> {
        let (c, i) = (idx as usize / CHUNK, idx as usize % CHUNK);
        if c >= CHUNKS {
            return None;
        }
        let p = self.chunks[c].load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: chunks are CHUNK slots long and never freed.
        Some(unsafe { &*p.add(i) })
    }

    /// Take a slot for `aiocb`; returns its tag (never 0), or None when
    /// 4M requests are already in flight.
    pub fn alloc(&self, aiocb: usize) -> Option<u64> {
        let mut fl = self.free.lock();
        let idx = match fl.free.pop() {
            Some(i) => i,
            None => {
                let i = fl.next;
                let c = i as usize / CHUNK;
                if c >= CHUNKS {
                    return None;
                }
                if (i as usize).is_multiple_of(CHUNK) {
                    let chunk: Box<[Slot]> =
                        (0..CHUNK).map(|_| Slot { tag: AtomicU64::new(0), aiocb: AtomicUsize::new(0), completing: AtomicBool::new(false) }).collect();
                    self.chunks[c].store(Box::leak(chunk).as_mut_ptr(), Ordering::Release);
                }
                fl.next += 1;
                fl.gens.push(0);
                i
            }
        };
        let g = &mut fl.gens[idx as usize];
        // 31-bit generations: the tag's top bit is `KAIO`.
        *g = (g.wrapping_add(1) & 0x7fff_ffff).max(1);
        let tag = ((*g as u64) << 32) | idx as u64;
        let s = self.slot(idx).expect("allocated chunk");
        s.aiocb.store(aiocb, Ordering::Relaxed);
        s.completing.store(false, Ordering::Relaxed);
        s.tag.store(tag, Ordering::Release);
        Some(tag)
    }

    pub fn release(&self, tag: u64) {
        let idx = tag as u32;
        if let Some(s) = self.slot(idx) {
            let freed = s.tag.compare_exchange(tag, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok()
                || s.tag.compare_exchange(tag | KAIO, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok();
            if freed {
                self.free.lock().free.push(idx);
            }
        }
    }

    /// The live request `tag` is with kernel AIO and may be completed by a
    /// waiter. A no-op if it is no longer live.
    pub fn mark_kaio(&self, tag: u64) {
        if let Some(s) = self.slot(tag as u32) {
            let _ = s.tag.compare_exchange(tag, tag | KAIO, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// Is `tag` a live request of `aiocb` marked by `mark_kaio`? Lock-free.
    pub fn is_kaio(&self, tag: u64, aiocb: usize) -> bool {
        if tag == 0 {
            return false;
        }
        match self.slot(tag as u32) {
            Some(s) => s.tag.load(Ordering::Acquire) == tag | KAIO && s.aiocb.load(Ordering::Relaxed) == aiocb,
            None => false,
        }
    }

    /// Mark the live request `tag` as between "notification sent" and
    /// "result stored"; `release` ends that window.
    pub fn mark_completing(&self, tag: u64) {
        if let Some(s) = self.slot(tag as u32) {
            s.completing.store(true, Ordering::SeqCst);
        }
    }

    /// Is the live request `tag` of `aiocb` in that window? Lock-free.
    pub fn is_completing(&self, tag: u64, aiocb: usize) -> bool {
        if tag == 0 {
            return false;
        }
        match self.slot(tag as u32) {
            Some(s) => s.completing.load(Ordering::SeqCst) && self.is_live(tag, aiocb),
            None => false,
        }
    }

    /// Is `tag` (read from `aiocb`'s `__next_prio`) a live request of ours
    /// for that very aiocb? Lock-free and async-signal-safe.
    pub fn is_live(&self, tag: u64, aiocb: usize) -> bool {
        if tag == 0 {
            return false;
        }
        match self.slot(tag as u32) {
            Some(s) => s.tag.load(Ordering::Acquire) & !KAIO == tag && s.aiocb.load(Ordering::Relaxed) == aiocb,
            None => false,
        }
    }
}

// (Not in the loom build, whose atomics only work inside a model.)
#[cfg(all(test, not(loom_models)))]
mod tests {
    use super::*;
    #[test]
    fn alloc_release_reuse_changes_generation() {
        let s = Slots::new();
        let a = s.alloc(100).unwrap();
        assert!(s.is_live(a, 100));
        assert!(!s.is_live(a, 101));
        s.release(a);
        assert!(!s.is_live(a, 100));
        let b = s.alloc(100).unwrap();
        assert_eq!(a as u32, b as u32, "slot reused");
        assert_ne!(a, b, "generation changed");
        assert!(!s.is_live(a, 100));
        assert!(s.is_live(b, 100));
        s.release(a); // stale release is a no-op
        assert!(s.is_live(b, 100));
    }
    #[test]
    fn many_slots_span_chunks() {
        let s = Slots::new();
        let tags: Vec<u64> = (0..10_000).map(|i| s.alloc(i).unwrap()).collect();
        for (i, t) in tags.iter().enumerate() {
            assert!(s.is_live(*t, i));
        }
        for t in &tags {
            s.release(*t);
        }
        assert!(tags.iter().enumerate().all(|(i, t)| !s.is_live(*t, i)));
    }
}
