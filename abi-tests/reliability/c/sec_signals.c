/* The shim must not touch the program's signal state or its thread's
 * cancellation state:
 *  - sigaction of every signal is the same before and after AIO of every
 *    kind (kernel AIO, workers, SIGEV_SIGNAL/THREAD, lio_listio, suspend,
 *    cancel);
 *  - the calling thread's signal mask is the same after every AIO call;
 *  - the cancellation type/state are the same after aio_suspend returns
 *    (done, timeout, EINTR), and a signal handler that interrupts
 *    aio_suspend runs with the thread's own cancellation type (glibc:
 *    deferred), not asynchronous cancellation.
 * Run with AIO_SHIM_LOG=debug AIO_SHIM_STATS=1: stdout must equal glibc's
 * (the shim writes nothing there).
 */
#include "../rel.h"

#define NS 65
static struct sigaction before[NS];
static int before_rc[NS];
static atomic_int mask_changes, usr1;
static atomic_int handler_cancel_type = -1;

static void on_usr1(int s) { (void)s; atomic_fetch_add(&usr1, 1); }
static void on_usr2(int s)
{
    (void)s;
    int old;
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old);
    pthread_setcanceltype(old, NULL);
    atomic_store(&handler_cancel_type, old);
}

static void snap(struct sigaction *sa, int *rc)
{
    for (int s = 1; s < NS; s++) {
        memset(&sa[s], 0, sizeof sa[s]);
        rc[s] = sigaction(s, NULL, &sa[s]);
    }
}

static sigset_t cur_mask(void)
{
    sigset_t m;
    memset(&m, 0, sizeof m);
    pthread_sigmask(SIG_SETMASK, NULL, &m);
    return m;
}

/* the kernel's 64 signals only (the rest of a sigset_t is padding) */
static int same_set(const sigset_t *a, const sigset_t *b)
{
    for (int s = 1; s < NS; s++)
        if (sigismember(a, s) != sigismember(b, s))
            return 0;
    return 1;
}

#define MASKED_CALL(label, expr)                                             \
    do {                                                                     \
        sigset_t _b = cur_mask();                                            \
        (void)(expr);                                                        \
        sigset_t _a = cur_mask();                                            \
        if (!same_set(&_b, &_a)) {                              \
            atomic_fetch_add(&mask_changes, 1);                              \
            BAD("signal mask changed by %s", label);                         \
        }                                                                    \
    } while (0)

static atomic_int notes;
static void note(union sigval v) { (void)v; atomic_fetch_add(&notes, 1); }

static void cancel_state(const char *label)
{
    int type, state;
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &type);
    pthread_setcanceltype(type, NULL);
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &state);
    pthread_setcancelstate(state, NULL);
    printf("%s: cancel type %s, state %s\n", label, type == PTHREAD_CANCEL_DEFERRED ? "deferred" : "async",
           state == PTHREAD_CANCEL_ENABLE ? "enabled" : "disabled");
}

static pthread_t main_thread;
static void *kicker(void *a)
{
    (void)a;
    sleep_ms(100);
    pthread_kill(main_thread, SIGUSR2);
    return NULL;
}

int main(void)
{
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sa.sa_handler = on_usr2; /* no SA_RESTART: interrupts aio_suspend */
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    sigset_t odd;
    sigemptyset(&odd);
    sigaddset(&odd, SIGHUP);
    sigaddset(&odd, SIGRTMIN + 3);
    CHECK(pthread_sigmask(SIG_BLOCK, &odd, NULL) == 0);
    snap(before, before_rc);
    sigset_t mask0 = cur_mask();

    int dfd = make_file_at("sig.d", 1 << 20, O_RDWR | O_DIRECT);
    if (dfd < 0 && errno == EINVAL)
        dfd = make_file_at("sig.d", 1 << 20, O_RDWR);
    CHECK(dfd >= 0);
    int bfd = make_file_at("sig.b", 1 << 20, O_RDWR);
    CHECK(bfd >= 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    char *buf = aligned_buf(32 * 4096);
    struct aiocb c[16];
    for (int i = 0; i < 16; i++) {
        cb_init(&c[i], i < 8 ? dfd : bfd, buf + i * 4096, 4096, (off_t)i * 4096);
        if (i % 4 == 1) {
            c[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
            c[i].aio_sigevent.sigev_signo = SIGUSR1;
        } else if (i % 4 == 2) {
            c[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
            c[i].aio_sigevent.sigev_notify_function = note;
        }
        MASKED_CALL(i % 2 ? "aio_write" : "aio_read", i % 2 ? aio_write(&c[i]) : aio_read(&c[i]));
    }
    const struct aiocb *l[16];
    for (int i = 0; i < 16; i++)
        l[i] = &c[i];
    long long end = now_ms() + LONG_MS;
    for (int i = 0; i < 16 && now_ms() < end; i++) {
        struct timespec ts = { 1, 0 };
        while (aio_error(&c[i]) == EINPROGRESS && now_ms() < end)
            MASKED_CALL("aio_suspend", aio_suspend(l + i, 1, &ts));
        MASKED_CALL("aio_error", aio_error(&c[i]));
        MASKED_CALL("aio_return", aio_return(&c[i]));
    }
    cancel_state("after aio_suspend (done)");
    /* lio_listio, both modes */
    struct aiocb lc[4], *ll[4];
    for (int i = 0; i < 4; i++) {
        cb_init(&lc[i], bfd, buf + (16 + i) * 4096, 4096, (off_t)i * 8192);
        lc[i].aio_lio_opcode = LIO_READ;
        ll[i] = &lc[i];
    }
    MASKED_CALL("lio_listio(LIO_WAIT)", lio_listio(LIO_WAIT, ll, 4, NULL));
    struct sigevent se;
    memset(&se, 0, sizeof se);
    se.sigev_notify = SIGEV_SIGNAL;
    se.sigev_signo = SIGUSR1;
    MASKED_CALL("lio_listio(LIO_NOWAIT)", lio_listio(LIO_NOWAIT, ll, 4, &se));
    wait_array(lc, 4, LONG_MS);
    /* fsync, cancel, a pipe read interrupted by a signal in aio_suspend */
    struct aiocb fs;
    cb_init(&fs, bfd, NULL, 0, 0);
    MASKED_CALL("aio_fsync", aio_fsync(O_SYNC, &fs));
    wait_done(&fs, LONG_MS);
    struct aiocb pr;
    static char pb[4];
    cb_init(&pr, p[0], pb, 2, 0);
    MASKED_CALL("aio_read(pipe)", aio_read(&pr));
    const struct aiocb *pl[] = { &pr };
    struct timespec short_ts = { 0, 10 * 1000000 };
    errno = 0;
    int r = aio_suspend(pl, 1, &short_ts);
    printf("aio_suspend(10 ms) on an empty pipe = %d errno=%s\n", r, en(errno));
    cancel_state("after aio_suspend (timeout)");
    pthread_t k;
    CHECK(pthread_create(&k, NULL, kicker, NULL) == 0);
    errno = 0;
    r = aio_suspend(pl, 1, NULL);
    printf("aio_suspend interrupted by a handler = %d errno=%s\n", r, en(errno));
    pthread_join(k, NULL);
    printf("handler interrupting aio_suspend ran with cancel type: %s\n",
           atomic_load(&handler_cancel_type) == PTHREAD_CANCEL_DEFERRED ? "deferred"
           : atomic_load(&handler_cancel_type) == PTHREAD_CANCEL_ASYNCHRONOUS ? "async" : "?");
    cancel_state("after aio_suspend (EINTR)");
    MASKED_CALL("aio_cancel", aio_cancel(p[0], &pr));
    MASKED_CALL("aio_cancel(fd, NULL)", aio_cancel(bfd, NULL));
    CHECK(write(p[1], "x", 1) == 1);
    wait_done(&pr, LONG_MS);
    end = now_ms() + LONG_MS;
    while (atomic_load(&notes) < 4 && now_ms() < end)
        sleep_ms(1);
    sleep_ms(20);

    struct sigaction after[NS];
    int after_rc[NS];
    snap(after, after_rc);
    int changed = 0;
    for (int s = 1; s < NS; s++) {
        if (before_rc[s] != after_rc[s] || before[s].sa_handler != after[s].sa_handler ||
            before[s].sa_flags != after[s].sa_flags ||
            !same_set(&before[s].sa_mask, &after[s].sa_mask)) {
            changed++;
            BAD("sigaction of signal %d changed", s);
        }
    }
    printf("signal dispositions changed: %d\n", changed);
    sigset_t mask1 = cur_mask();
    printf("signal mask changed by some call: %d\n", atomic_load(&mask_changes));
    printf("signal mask at the end as at the start: %d\n", same_set(&mask0, &mask1));
    unlink("sig.d");
    unlink("sig.b");
    return rel_exit();
}
