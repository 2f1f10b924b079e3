//! Per-fd bookkeeping: every request not yet completed, by aiocb address
//! (for `aio_cancel`), and the ordering rules:
//!
//! * positional reads and writes on a seekable fd run in parallel (this is
//!   the whole point: glibc runs one request per fd at a time);
//! * an *exclusive* request (any request on a stream, an O_APPEND write, an
//!   `aio_fsync`) starts only when everything submitted before it on that fd
//!   has completed, and nothing submitted after it starts before it ends.
//!
//! Lock: one mutex per shard (fd % SHARDS) guards the `FdState`s in it.
//! Never held while calling into a backend or completing a request.
//! `publishing` (per shard, atomic) counts requests between leaving the
//! table and their results being stored.
use crate::request::{Op, Request, DONE, QUEUED, RUNNING, WAITING};
use crate::route::FdInfo;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

const SHARDS: usize = 64;

/// Keys here are fds and aiocb addresses, chosen by the program, not by
/// an adversary feeding a hash table: one multiply instead of SipHash
/// (which was 1% of a submitting thread's time, two hashes per request).
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // hashbrown takes the bucket from the low bits and a tag from the
        // top 7: fold the well-mixed high half down.
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_i32(&mut self, v: i32) {
        self.write_u64(v as u32 as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

pub type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
pub struct FdState {
    /// What submission learnt about the fd (kind, flags), reused while the
    /// fd has requests in flight: saves the fcntl per request. An fd
    /// closed and reused while its requests are in flight keeps the old
    /// answer until they finish (the I/O itself still reports EBADF etc.).
    info: Option<FdInfo>,
    pub live: HashMap<usize, Arc<Request>>,
    waiting: VecDeque<Arc<Request>>,
    running: u32,
    exclusive_running: bool,
}

impl FdState {
    /// Register `req`; true when it may be dispatched now.
    fn admit(&mut self, req: &Arc<Request>) -> bool {
        self.live.insert(req.cb as usize, req.clone());
        let free = self.waiting.is_empty() && !self.exclusive_running;
        if free && (!req.exclusive || self.running == 0) {
            req.state.store(RUNNING, std::sync::atomic::Ordering::Release);
            self.running += 1;
            self.exclusive_running = req.exclusive;
            true
        } else {
            self.enqueue(req.clone());
            false
        }
    }

    /// Queue in `aio_reqprio` order like glibc (a larger value runs later,
    /// equal values keep submission order), except that nothing passes an
    /// `aio_fsync` barrier and a barrier passes nothing.
    fn enqueue(&mut self, req: Arc<Request>) {
        let barrier = |r: &Request| matches!(r.op, Op::Fsync | Op::Fdsync);
        let mut at = self.waiting.len();
        if !barrier(&req) {
            while at > 0 {
                let prev = &self.waiting[at - 1];
                if barrier(prev) || prev.reqprio <= req.reqprio {
                    break;
                }
                at -= 1;
            }
        }
        self.waiting.insert(at, req);
    }

    /// `req` is done; returns what may start now.
    fn release(&mut self, req: &Request, dispatched: bool, out: &mut Vec<Arc<Request>>) {
        if let Some(r) = self.live.get(&(req.cb as usize)) {
            if core::ptr::eq(Arc::as_ptr(r), req) {
                self.live.remove(&(req.cb as usize));
            }
        }
        if dispatched {
            self.running -= 1;
            if req.exclusive {
                self.exclusive_running = false;
            }
        }
        while let Some(front) = self.waiting.front() {
            if front.state() != WAITING {
                self.waiting.pop_front(); // cancelled while waiting
                continue;
            }
            if self.exclusive_running || (front.exclusive && self.running > 0) {
                break;
            }
            let r = self.waiting.pop_front().unwrap();
            if !r.claim(WAITING, RUNNING) {
                continue; // a canceller got it first
            }
            self.running += 1;
            self.exclusive_running = r.exclusive;
            out.push(r);
            if self.exclusive_running {
                break;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.live.is_empty() && self.waiting.is_empty() && self.running == 0
    }
}

pub struct FdTable {
    shards: Box<[Mutex<HashMap<i32, FdState>>]>,
    /// Per shard: requests taken out of the table (`release`) whose results
    /// are not stored yet (complete.rs `finish`: `publishing`, then
    /// `published`). `cancel_all` counts them as running: `aio_cancel(fd,
    /// NULL)` must not say AIO_ALLDONE while one of the fd's requests still
    /// reads EINPROGRESS (glibc stores results under the lock aio_cancel
    /// takes). Raised before `release`, so a `cancel_all` under the shard
    /// lock sees the request either live or here; another fd of the shard
    /// completing at that moment gives a needless AIO_NOTCANCELED at worst.
    publishing: Box<[std::sync::atomic::AtomicU32]>,
    /// Requests waiting in some fd's queue (changed under the shard locks,
    /// read without): a waiter that defers bookkeeping pokes the reaper
    /// when something may be waiting for it (backend/kaio.rs).
    waiting: std::sync::atomic::AtomicUsize,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::default())).collect(),
            publishing: (0..SHARDS).map(|_| std::sync::atomic::AtomicU32::new(0)).collect(),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn shard(&self, fd: i32) -> &Mutex<HashMap<i32, FdState>> {
        &self.shards[(fd as u32 as usize) % SHARDS]
    }

    fn publishing_of(&self, fd: i32) -> &std::sync::atomic::AtomicU32 {
        &self.publishing[(fd as u32 as usize) % SHARDS]
    }

    /// A request of `fd` is about to be released with its results not yet
    /// stored (see `publishing`).
    pub fn publishing(&self, fd: i32) {
        self.publishing_of(fd).fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Its results are stored.
    pub fn published(&self, fd: i32) {
        self.publishing_of(fd).fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Register a new request; true when it may be dispatched now.
    pub fn admit(&self, req: &Arc<Request>, info: FdInfo) -> bool {
        let mut shard = self.shard(req.fd).lock();
        let st = shard.entry(req.fd).or_default();
        st.info = Some(info);
        let now = st.admit(req);
        if !now {
            self.waiting.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        now
    }

    /// Might any request be waiting behind another on its fd?
    pub fn any_waiting(&self) -> bool {
        self.waiting.load(std::sync::atomic::Ordering::SeqCst) != 0
    }

    /// What the fd's requests in flight learnt about it (None: nothing of
    /// ours in flight on it right now). Unchecked: see route.rs `FdInfo::check`.
    pub fn cached(&self, fd: i32) -> Option<FdInfo> {
        self.shard(fd).lock().get(&fd).and_then(|st| st.info)
    }

    /// A request completed (or was cancelled); returns the requests that
    /// may start now.
    pub fn release(&self, req: &Request, dispatched: bool) -> Vec<Arc<Request>> {
        let mut out = Vec::new();
        let mut shard = self.shard(req.fd).lock();
        if let Some(st) = shard.get_mut(&req.fd) {
            let before = st.waiting.len();
            st.release(req, dispatched, &mut out);
            let gone = before - st.waiting.len();
            if gone > 0 {
                self.waiting.fetch_sub(gone, std::sync::atomic::Ordering::SeqCst);
            }
            if st.is_empty() {
                shard.remove(&req.fd);
            }
        }
        out
    }

    /// The live request for this aiocb on this fd.
    pub fn find(&self, fd: i32, cb: usize) -> Option<Arc<Request>> {
        self.shard(fd).lock().get(&fd).and_then(|st| st.live.get(&cb).cloned())
    }

    /// `aio_cancel(fd, NULL)`: take back, atomically with respect to this
    /// fd's queue, every request that has not started, in submission order.
    /// Returns them (with whether each was counted as started) for the
    /// caller to complete with ECANCELED, and whether any could not be
    /// taken back because it is running.
    pub fn cancel_all(&self, fd: i32) -> (Vec<(Arc<Request>, bool)>, bool, bool) {
        let shard = self.shard(fd).lock();
        let publishing = self.publishing_of(fd).load(std::sync::atomic::Ordering::SeqCst) > 0;
        let Some(st) = shard.get(&fd) else { return (Vec::new(), publishing, false) };
        let mut taken = Vec::new();
        for r in &st.waiting {
            if r.claim(WAITING, RUNNING) {
                taken.push((r.clone(), false));
            }
        }
        let from_queue: std::collections::HashSet<*const Request> =
            taken.iter().map(|(r, _)| Arc::as_ptr(r)).collect();
        let mut running = false;
        for r in st.live.values() {
            if r.claim(QUEUED, RUNNING) {
                taken.push((r.clone(), true));
            } else if !from_queue.contains(&Arc::as_ptr(r)) && r.state() != DONE {
                running = true;
            }
        }
        (taken, running || publishing, !st.live.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyHasher;
    use std::collections::HashSet;
    use std::hash::{Hash, Hasher};

    fn hash<T: Hash>(v: T) -> u64 {
        let mut h = KeyHasher::default();
        v.hash(&mut h);
        h.finish()
    }

    /// hashbrown picks the bucket from the low bits and a 7-bit tag from
    /// the top: both must vary for keys that differ only in a few bits
    /// (small fds; aiocb addresses 168 bytes or a page apart).
    #[test]
    fn key_hasher_spreads_low_and_top_bits() {
        let keys: Vec<Vec<u64>> = vec![
            (0..1024u64).map(|fd| hash(fd as i32)).collect(),
            (0..1024u64).map(|i| hash(0x7f00_0000_0000usize + i as usize * 168)).collect(),
            (0..1024u64).map(|i| hash(0x5600_0000_0000usize + i as usize * 4096)).collect(),
        ];
        for hs in keys {
            let low: HashSet<u64> = hs.iter().map(|h| h & 63).collect();
            let top: HashSet<u64> = hs.iter().map(|h| h >> 57).collect();
            assert!(low.len() >= 60, "low 6 bits: {} of 64 values", low.len());
            assert!(top.len() >= 120, "top 7 bits: {} of 128 values", top.len());
        }
    }
}
