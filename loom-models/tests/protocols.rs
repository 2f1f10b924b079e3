//! Loom models of the shim's lock-free protocols (src/protocol.rs and
//! src/slots.rs, compiled as they ship). Each model runs the engine's own
//! functions in two or three threads; loom explores every interleaving and
//! every outcome the memory orderings allow, and fails on a broken
//! assertion, a deadlock (a waiter asleep for ever: a lost wake-up) or a
//! livelock.
//!
//! What each proves:
//! * `suspend_never_misses_a_completion`: aio_suspend's counter protocol
//!   (WAITERS, GEN, futex) never sleeps through a completion, and a waiter
//!   that wakes sees the result (error code and return value).
//! * `handler_sees_result_after_signal`: the completing window: a signal
//!   sent before the result is stored is never observed with aio_error
//!   still saying EINPROGRESS.
//! * `lio_wait_wakes_after_last`: LIO_WAIT's count reaches zero, wakes the
//!   caller, and every result is visible to it.
//! * `reused_slot_is_not_the_old_request`: a slot freed and reused (same
//!   index, next generation) for another aiocb never makes the finished
//!   one look in flight.
//! * `submission_seen_is_live_across_chunks`: a reader that sees a new
//!   submission's EINPROGRESS finds it live, also when its slot is the
//!   first of a chunk published at that moment.
//! * `forked_child_never_takes_parent_tags`: after the fork reset (a new,
//!   empty slot table), a parent's aiocb that still says EINPROGRESS is not
//!   in flight in the child, even while the child's threads hand the very
//!   same tag values to other aiocbs, until the child submits it again.
//! * `reaping_role_never_strands_a_waiter`: whoever consumes a waiter's
//!   event (the reaper thread or the waiter holding the role), the waiter
//!   returns, and the role is never held by two.
//! * `reaper_woken_when_a_want_ends`: the reaper thread, asleep without a
//!   deadline because a waiter wanted the free role, is woken when that
//!   waiter leaves (RELIABILITY.md bug 8).
//! * `deferred_stack_loses_nothing`: every completion a waiter pushes for
//!   the reaper comes out exactly once.
use loom::sync::atomic::{AtomicBool, AtomicI32, AtomicIsize, AtomicU32, AtomicU64, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use loom_models::protocol::{count_down, wait_zero, wake_zero, Counter, Words};
use loom_models::slots::Slots;

/// The three shared words of one aiocb.
struct Cb {
    err: AtomicI32,
    ret: AtomicIsize,
    tag: AtomicU64,
}

impl Cb {
    fn new() -> Cb {
        // a fresh aiocb: zeroed, as callers memset it
        Cb { err: AtomicI32::new(0), ret: AtomicIsize::new(0), tag: AtomicU64::new(0) }
    }
    fn words(&self) -> Words<'_> {
        Words { err: &self.err, ret: &self.ret, tag: &self.tag }
    }
}

struct Futex {
    gen: AtomicU32,
    waiters: AtomicU32,
}

impl Futex {
    fn new() -> Futex {
        Futex { gen: AtomicU32::new(0), waiters: AtomicU32::new(0) }
    }
    fn counter(&self) -> Counter<'_> {
        Counter { gen: &self.gen, waiters: &self.waiters }
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    // Exhaustive within 3 preemptions per execution (loom's usual bound:
    // the known bugs of this kind need one or two).
    b.preemption_bound = Some(3);
    b.check(f);
}

/// aio_suspend's sleep: the futex, woken or not, then re-check.
fn sleep(gen: &AtomicU32) -> impl FnMut(u32) -> Result<(), i32> + '_ {
    move |seen| match loom_models::sync::futex_wait(gen, seen) {
        Ok(()) | Err(libc::EAGAIN) => Ok(()),
        Err(e) => Err(e),
    }
}

const A: usize = 0x1000;
const B: usize = 0x2000;
const C: usize = 0x3000;

#[test]
fn suspend_never_misses_a_completion() {
    model(|| {
        let slots = Arc::new(Slots::new());
        let cb = Arc::new(Cb::new());
        let fx = Arc::new(Futex::new());
        let tag = slots.alloc(A).unwrap();
        cb.words().begin(tag);

        let completer = {
            let (slots, cb, fx) = (slots.clone(), cb.clone(), fx.clone());
            thread::spawn(move || {
                cb.words().complete(&slots, tag, 42, 0, None::<fn()>);
                fx.counter().bump();
            })
        };
        let c = fx.counter();
        c.enter();
        let r = c.wait_for(|| !cb.words().in_flight(Some(&slots), A), sleep(&fx.gen));
        c.leave();
        assert_eq!(r, Ok(()));
        assert_eq!(cb.words().error(Some(&slots), A), 0);
        assert_eq!(cb.words().ret(), 42);
        completer.join().unwrap();
    });
}

#[test]
fn suspend_two_requests_two_completers() {
    // aio_suspend on a list: wakes when either completes, for every order.
    model(|| {
        let slots = Arc::new(Slots::new());
        let cbs = Arc::new([Cb::new(), Cb::new()]);
        let fx = Arc::new(Futex::new());
        let tags = [slots.alloc(A).unwrap(), slots.alloc(B).unwrap()];
        cbs[0].words().begin(tags[0]);
        cbs[1].words().begin(tags[1]);
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (slots, cbs, fx) = (slots.clone(), cbs.clone(), fx.clone());
                thread::spawn(move || {
                    cbs[i].words().complete(&slots, tags[i], i as isize, 0, None::<fn()>);
                    fx.counter().bump();
                })
            })
            .collect();
        let c = fx.counter();
        for round in 0..2 {
            c.enter();
            let done = |i: usize| !cbs[i].words().in_flight(Some(&slots), [A, B][i]);
            let r = c.wait_for(|| if round == 0 { done(0) || done(1) } else { done(0) && done(1) }, sleep(&fx.gen));
            c.leave();
            assert_eq!(r, Ok(()));
        }
        for (i, cb) in cbs.iter().enumerate() {
            assert_eq!(cb.words().error(Some(&slots), [A, B][i]), 0);
            assert_eq!(cb.words().ret(), i as isize);
        }
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn handler_sees_result_after_signal() {
    model(|| {
        let slots = Arc::new(Slots::new());
        let cb = Arc::new(Cb::new());
        let signalled = Arc::new(AtomicBool::new(false));
        let tag = slots.alloc(A).unwrap();
        cb.words().begin(tag);

        let completer = {
            let (slots, cb, signalled) = (slots.clone(), cb.clone(), signalled.clone());
            thread::spawn(move || {
                cb.words().complete(&slots, tag, 7, 0, Some(|| signalled.store(true, SeqCst)));
            })
        };
        // The handler runs on another thread once the signal is pending.
        while !signalled.load(SeqCst) {
            thread::yield_now();
        }
        assert_eq!(cb.words().error(Some(&slots), A), 0, "signal seen before the result");
        assert_eq!(cb.words().ret(), 7);
        completer.join().unwrap();
    });
}

#[test]
fn lio_wait_wakes_after_last() {
    model(|| {
        let slots = Arc::new(Slots::new());
        let cbs = Arc::new([Cb::new(), Cb::new()]);
        let remaining = Arc::new(AtomicU32::new(2));
        let tags = [slots.alloc(A).unwrap(), slots.alloc(B).unwrap()];
        cbs[0].words().begin(tags[0]);
        cbs[1].words().begin(tags[1]);
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (slots, cbs, remaining) = (slots.clone(), cbs.clone(), remaining.clone());
                thread::spawn(move || {
                    cbs[i].words().complete(&slots, tags[i], 100 + i as isize, 0, None::<fn()>);
                    if count_down(&remaining) {
                        wake_zero(&remaining);
                    }
                })
            })
            .collect();
        assert_eq!(wait_zero(&remaining), Ok(()));
        for (i, cb) in cbs.iter().enumerate() {
            assert_eq!(cb.err.load(SeqCst), 0);
            assert_eq!(cb.words().ret(), 100 + i as isize);
        }
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn reused_slot_is_not_the_old_request() {
    model(|| {
        let slots = Arc::new(Slots::new());
        let (a, b) = (Arc::new(Cb::new()), Arc::new(Cb::new()));
        let a_done = Arc::new(AtomicBool::new(false));
        let ta = slots.alloc(A).unwrap();
        a.words().begin(ta);

        let owner = {
            let (slots, a, b, a_done) = (slots.clone(), a.clone(), b.clone(), a_done.clone());
            thread::spawn(move || {
                a.words().complete(&slots, ta, 1, 0, None::<fn()>);
                a_done.store(true, SeqCst);
                // the same slot, next generation, for another aiocb
                let tb = slots.alloc(B).unwrap();
                assert_eq!(tb as u32, ta as u32, "the model wants the slot reused");
                b.words().begin(tb);
            })
        };
        let was_done = a_done.load(SeqCst);
        let live = a.words().in_flight(Some(&slots), A);
        if was_done {
            assert!(!live, "a finished request looks in flight through its reused slot");
        }
        owner.join().unwrap();
        assert!(!a.words().in_flight(Some(&slots), A));
        assert!(b.words().in_flight(Some(&slots), B));
    });
}

#[test]
fn submission_seen_is_live_across_chunks() {
    model(|| {
        let slots = Arc::new(Slots::new());
        // fill the first chunk (2 slots): the next alloc publishes chunk 1
        let t0 = slots.alloc(A).unwrap();
        let _t1 = slots.alloc(B).unwrap();
        let c = Arc::new(Cb::new());
        let submitter = {
            let (slots, c) = (slots.clone(), c.clone());
            thread::spawn(move || {
                let t = slots.alloc(C).unwrap();
                c.words().begin(t);
            })
        };
        let releaser = {
            let slots = slots.clone();
            thread::spawn(move || slots.release(t0))
        };
        if c.err.load(SeqCst) == libc::EINPROGRESS {
            assert!(c.words().in_flight(Some(&slots), C), "a submission seen in flight is unknown");
        }
        submitter.join().unwrap();
        releaser.join().unwrap();
        assert!(c.words().in_flight(Some(&slots), C));
    });
}

#[test]
fn forked_child_never_takes_parent_tags() {
    model(|| {
        // The parent's table: A in flight when the process forked.
        let parent = Slots::new();
        let a = Arc::new(Cb::new());
        let ta = parent.alloc(A).unwrap();
        a.words().begin(ta);
        // The child's engine starts from an empty table (engine.rs); its
        // threads give other aiocbs the very tag values the parent used.
        let child = Arc::new(Slots::new());
        let hs: Vec<_> = [B, C]
            .into_iter()
            .map(|cb| {
                let child = child.clone();
                thread::spawn(move || {
                    let w = Cb::new();
                    let t = child.alloc(cb).unwrap();
                    w.words().begin(t);
                    w.words().complete(&child, t, 0, 0, None::<fn()>);
                    let t2 = child.alloc(cb).unwrap();
                    w.words().begin(t2);
                    t
                })
            })
            .collect();
        assert!(!a.words().in_flight(Some(&child), A), "the parent's request passes for the child's");
        let tags: Vec<u64> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(tags.contains(&ta), "the model wants the child to reuse the parent's tag value");
        assert!(!a.words().in_flight(Some(&child), A));
        // until the child submits A itself
        a.words().begin(child.alloc(A).unwrap());
        assert!(a.words().in_flight(Some(&child), A));
    });
}

/// The kernel AIO completion ring, as the role protocol sees it: events
/// appear (the device), the role holder takes them, `io_getevents` blocks
/// the holder until one is there.
struct Ring {
    events: loom::sync::Mutex<Vec<u32>>,
    cv: loom::sync::Condvar,
}

#[test]
fn reaping_role_never_strands_a_waiter() {
    // A waiter in aio_suspend (takes the role or wants it), the reaper
    // thread (takes a free role when nobody wants it, consumes without
    // blocking, completes, then releases), and the device completing the
    // waiter's request. Whoever consumes the event, the waiter returns
    // (a stranded waiter is a loom deadlock), and the role is never held
    // by two (the consumer asserts it holds it).
    use loom_models::protocol::{Bell, Role, Take, ROLE_REAPER, ROLE_WAITER};
    struct S {
        role: AtomicU32,
        want: AtomicU32,
        fx: Futex,
        ring: Ring,
        done: AtomicBool,
        bell_word: AtomicU32, // (the reaper here never sleeps on its bell)
        bell_idle: AtomicBool,
    }
    fn role(s: &S) -> Role<'_> {
        Role { state: &s.role, want: &s.want }
    }
    model(|| {
        let s = Arc::new(S {
            role: AtomicU32::new(0),
            want: AtomicU32::new(0),
            fx: Futex::new(),
            ring: Ring { events: loom::sync::Mutex::new(Vec::new()), cv: loom::sync::Condvar::new() },
            done: AtomicBool::new(false),
            bell_word: AtomicU32::new(0),
            bell_idle: AtomicBool::new(false),
        });
        let bell0 = Bell { word: &s.bell_word, idle: &s.bell_idle };
        let device = {
            let s = s.clone();
            thread::spawn(move || {
                s.ring.events.lock().unwrap().push(1);
                s.ring.cv.notify_all();
            })
        };
        let reaper = {
            let s = s.clone();
            thread::spawn(move || {
                if s.want.load(SeqCst) == 0 && role(&s).take(ROLE_REAPER) {
                    let ev = s.ring.events.lock().unwrap().pop(); // io_getevents with a timeout
                    assert_eq!(s.role.load(SeqCst), ROLE_REAPER);
                    if ev.is_some() {
                        s.done.store(true, SeqCst); // the result, published
                        s.fx.counter().bump();
                    }
                    if role(&s).release_wanted() {
                        s.fx.counter().bump();
                    }
                }
            })
        };
        // the waiter (aio_suspend)
        let c = s.fx.counter();
        c.enter();
        let r = c.wait_for(
            || s.done.load(SeqCst),
            |seen| match role(&s).take_or_want(&bell0) {
                Take::Got => {
                    if c.generation() == seen {
                        let mut g = s.ring.events.lock().unwrap();
                        while g.is_empty() {
                            g = s.ring.cv.wait(g).unwrap(); // io_getevents, no deadline
                        }
                        assert_eq!(s.role.load(SeqCst), ROLE_WAITER);
                        g.pop();
                        drop(g);
                        s.done.store(true, SeqCst);
                        c.bump_from_waiter();
                    }
                    if role(&s).release_wanted() {
                        c.bump();
                    }
                    Ok(())
                }
                Take::Retry => Ok(()),
                Take::Wanting => {
                    let r = sleep(&s.fx.gen)(seen);
                    role(&s).unwant(&bell0);
                    r
                }
            },
        );
        c.leave();
        assert_eq!(r, Ok(()));
        device.join().unwrap();
        reaper.join().unwrap();
    });
}

#[test]
fn reaper_woken_when_a_want_ends() {
    // Bug 8. A request only the reaper thread may complete (a notification)
    // sits in the ring. A waiter (the main thread) wanted the role while
    // another waiter held it; the holder has released it; now the waiter
    // leaves without it (its own request done, a deadline), while the
    // reaper runs its loop as in backend/kaio.rs `reap`: it takes a role
    // that is free and unwanted, and passes over a wanted one to sleep on
    // its bell, without a deadline (the role is no waiter's). It must end
    // up with the role: asleep for ever is a loom deadlock. Leaving `want`
    // without ringing the bell (the `unwant-no-ring` mutant) strands it.
    // (A model with the holder releasing concurrently, and the reaper's
    // deadline sleep while a waiter holds the role, ran for minutes; the
    // race is between the want ending and the reaper's decision to sleep.)
    use loom_models::protocol::{Bell, Role, Take, ROLE_FREE, ROLE_REAPER, ROLE_WAITER};
    struct S {
        role: AtomicU32,
        want: AtomicU32,
        bell_word: AtomicU32,
        bell_idle: AtomicBool,
    }
    fn role(s: &S) -> Role<'_> {
        Role { state: &s.role, want: &s.want }
    }
    fn bell(s: &S) -> Bell<'_> {
        Bell { word: &s.bell_word, idle: &s.bell_idle }
    }
    model(|| {
        let s = Arc::new(S {
            role: AtomicU32::new(ROLE_WAITER), // held by another waiter
            want: AtomicU32::new(0),
            bell_word: AtomicU32::new(0),
            bell_idle: AtomicBool::new(false),
        });
        assert_eq!(role(&s).take_or_want(&bell(&s)), Take::Wanting);
        assert!(role(&s).release_wanted()); // the holder (it bumps GEN for us)
        let reaper = {
            let s = s.clone();
            thread::spawn(move || loop {
                let unwanted = |s: &S| s.want.load(SeqCst) == 0;
                if unwanted(&s) && role(&s).take(ROLE_REAPER) {
                    return; // reaps and completes the notified request
                }
                let seen = bell(&s).announce(true);
                if role(&s).holder() == ROLE_FREE && unwanted(&s) {
                    bell(&s).awake();
                    continue;
                }
                let _ = loom_models::sync::futex_wait(&s.bell_word, seen);
                bell(&s).awake();
            })
        };
        // the waiter leaves without the role
        role(&s).unwant(&bell(&s));
        reaper.join().unwrap();
        assert_eq!(s.role.load(SeqCst), ROLE_REAPER);
    });
}

#[test]
fn deferred_stack_loses_nothing() {
    // Waiters push what they reaped (even from a signal handler: one CAS
    // loop); the reaper takes everything at once. Every node comes out
    // exactly once.
    use loom::sync::atomic::AtomicPtr;
    use loom_models::protocol::{push, take_all};
    struct Node {
        id: usize,
        next: AtomicPtr<Node>,
    }
    fn next(n: *mut Node) -> *const AtomicPtr<Node> {
        // SAFETY: a live node of this test.
        unsafe { core::ptr::addr_of!((*n).next) }
    }
    fn drain(head: &AtomicPtr<Node>, seen: &mut Vec<usize>) {
        let mut p = take_all(head);
        while !p.is_null() {
            // SAFETY: nodes are leaked boxes, taken once.
            let n = unsafe { Box::from_raw(p) };
            seen.push(n.id);
            p = n.next.load(SeqCst);
        }
    }
    model(|| {
        let head = Arc::new(AtomicPtr::new(core::ptr::null_mut()));
        let pushers: Vec<_> = (0..2)
            .map(|t| {
                let head = head.clone();
                thread::spawn(move || {
                    let n = Box::into_raw(Box::new(Node { id: t, next: AtomicPtr::new(core::ptr::null_mut()) }));
                    push(&head, n, next);
                })
            })
            .collect();
        let mut seen = Vec::new();
        drain(&head, &mut seen);
        for p in pushers {
            p.join().unwrap();
        }
        drain(&head, &mut seen);
        seen.sort();
        assert_eq!(seen, vec![0, 1], "a pushed node lost or seen twice");
    });
}
