//! What the shim remembers about fd numbers between requests, without a
//! lock: one word per `fd % SLOTS` holding the fd, its F_GETFL flags (the
//! low 24 bits, where every open flag lives) and a non-zero 8-bit tag the
//! user gives a meaning. A reader sees a whole entry or another whole one;
//! two fds on one slot evict each other (each is then looked up afresh).
//!
//! Users: route.rs `FdInfo::known_direct` (O_DIRECT files, tag: the kind)
//! and backend/nowait.rs `flags` (a buffered fd's flags, tag: uses left).
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const SLOTS: usize = 1024;
const FLAG_BITS: i32 = 0x00ff_ffff;

pub struct FdMemo([AtomicU64; SLOTS]);

impl FdMemo {
    pub const fn new() -> FdMemo {
        FdMemo([const { AtomicU64::new(0) }; SLOTS])
    }

    fn slot(&self, fd: i32) -> &AtomicU64 {
        &self.0[fd as u32 as usize % SLOTS]
    }

    /// The flags and tag remembered for `fd`, if its slot holds it.
    pub fn get(&self, fd: i32) -> Option<(i32, u8)> {
        let e = self.slot(fd).load(Relaxed);
        (fd >= 0 && e as u8 != 0 && e >> 32 == fd as u64).then(|| ((e >> 8) as i32 & FLAG_BITS, e as u8))
    }

    /// Remember `flags` and `tag` (not 0) for `fd`; false (nothing stored)
    /// for a negative fd or flags beyond the low 24 bits.
    pub fn set(&self, fd: i32, flags: i32, tag: u8) -> bool {
        let ok = fd >= 0 && tag != 0 && flags & !FLAG_BITS == 0;
        if ok {
            self.slot(fd).store((fd as u64) << 32 | (flags as u64) << 8 | tag as u64, Relaxed);
        }
        ok
    }

    /// Forget `fd` (if its slot holds it).
    pub fn forget(&self, fd: i32) {
        if self.get(fd).is_some() {
            self.slot(fd).store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_fd() {
        let m = FdMemo::new();
        assert_eq!(m.get(0), None, "an empty slot holds nothing, not fd 0");
        assert!(m.set(0, 0, 1));
        assert_eq!(m.get(0), Some((0, 1)));
        assert!(m.set(5, 0o140002, 16));
        assert_eq!(m.get(5), Some((0o140002, 16)));
        assert_eq!(m.get(5 + SLOTS as i32), None, "same slot, another fd");
        assert!(m.set(5 + SLOTS as i32, 2, 3));
        assert_eq!(m.get(5), None, "evicted");
        assert!(!m.set(-1, 0, 1));
        assert!(!m.set(7, 0x0100_0000, 1));
        assert!(!m.set(7, 0, 0));
        assert_eq!(m.get(-1), None);
        m.forget(5);
        assert_eq!(m.get(5 + SLOTS as i32), Some((2, 3)), "forget(5) leaves another fd's entry");
        m.forget(5 + SLOTS as i32);
        assert_eq!(m.get(5 + SLOTS as i32), None);
    }
}
