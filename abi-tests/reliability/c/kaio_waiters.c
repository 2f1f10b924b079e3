/* Threads that wait in aio_suspend for O_DIRECT requests. With the shim,
 * such a waiter sleeps in io_getevents itself and completes what it reaps
 * (backend/kaio.rs, the "reaping role"); these are the ways that could go
 * wrong:
 *
 *  N. nested: a signal handler calls aio_suspend (with a timeout) on the
 *     thread that is itself waiting in aio_suspend, for a request that only
 *     that thread could be reaping: the handler's wait must end with the
 *     request done, 200 times;
 *  C. cancelled: a thread waiting in aio_suspend is cancelled
 *     (pthread_cancel), 50 times; after each, another thread's aio_suspend
 *     on a new request must still return with it done (a role left held
 *     would strand it);
 *  M. many: 4 threads each submit and wait for their own requests, 500
 *     rounds each, while a fifth only polls aio_error on its own: every
 *     request done with the right data;
 *  P. poll after suspend: one aio_suspend, then requests that are only
 *     polled with aio_error: each is seen done within LONG_MS;
 *  W. wanted, then left: a small read the waiter waits for and a big one
 *     with a notification (which only the reaper thread completes) in
 *     flight together; the waiter finds the reaper holding the role, asks
 *     for it, gets its own request done and leaves. The big read, waited
 *     for only by its notification (aio_error would reap it itself), must
 *     still complete promptly, 300 times (the fuzzer found it left for
 *     ever: the reaper had gone to sleep because a waiter wanted the role,
 *     and the waiter never took it).
 *
 * usage: kaio_waiters DIR   (DIR must take O_DIRECT; prints SKIP if not)
 */
#include "../rel.h"

enum { BS = 4096, NBLK = 1024, FSZ = BS * NBLK };

static int fd;

static void rd_init(struct aiocb *cb, void *buf, int blk)
{
    cb_init(cb, fd, buf, BS, (off_t)blk * BS);
}

static int ok_data(const struct aiocb *cb)
{
    return aio_error(cb) == 0 && aio_return((struct aiocb *)cb) == BS &&
           check_pat((const void *)cb->aio_buf, BS, cb->aio_offset);
}

/* ---------------------------------------------------------------- N */
static struct aiocb n_inner;
static atomic_int n_handled, n_bad;

static void on_usr1(int s)
{
    (void)s;
    int saved = errno;
    const struct aiocb *l[1] = {&n_inner};
    struct timespec t = {5, 0};
    long long t0 = now_ms();
    while (aio_error(&n_inner) == EINPROGRESS && now_ms() - t0 < 5000)
        aio_suspend(l, 1, &t);
    if (aio_error(&n_inner) != 0)
        atomic_fetch_add(&n_bad, 1);
    atomic_fetch_add(&n_handled, 1);
    errno = saved;
}

static pthread_t n_target;
static atomic_int n_go, n_stop;

static void *n_signaller(void *a)
{
    (void)a;
    while (!atomic_load(&n_stop)) {
        if (atomic_exchange(&n_go, 0)) {
            sleep_us(20 + rand() % 60);
            pthread_kill(n_target, SIGUSR1);
        }
        sleep_us(10);
    }
    return NULL;
}

static void scen_n(void)
{
    enum { ROUNDS = 200 };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    n_target = pthread_self();
    pthread_t sig;
    CHECK(pthread_create(&sig, NULL, n_signaller, NULL) == 0);
    unsigned char *b = aligned_buf(2 * BS);
    int outer_ok = 1;
    for (int r = 0; r < ROUNDS; r++) {
        struct aiocb outer;
        rd_init(&outer, b, (r * 7) % NBLK);
        rd_init(&n_inner, b + BS, (r * 13 + 1) % NBLK);
        int before = atomic_load(&n_handled);
        CHECK(aio_read(&outer) == 0);
        CHECK(aio_read(&n_inner) == 0);
        atomic_store(&n_go, 1);
        const struct aiocb *l[1] = {&outer};
        long long t0 = now_ms();
        while (aio_error(&outer) == EINPROGRESS && now_ms() - t0 < LONG_MS)
            aio_suspend(l, 1, NULL); /* EINTR when the handler ran */
        /* make sure the handler ran for this round (or the inner is done) */
        t0 = now_ms();
        while (atomic_load(&n_handled) == before && now_ms() - t0 < 200)
            sleep_us(50);
        wait_done(&n_inner, LONG_MS);
        if (!ok_data(&outer) || !ok_data(&n_inner))
            outer_ok = 0;
    }
    atomic_store(&n_stop, 1);
    pthread_join(sig, NULL);
    signal(SIGUSR1, SIG_IGN);
    printf("N: handlers' aio_suspend ended with their request done: %d\n", atomic_load(&n_bad) == 0);
    printf("N: every request done with the right data: %d\n", outer_ok);
    free(b);
}

/* ---------------------------------------------------------------- C */
static atomic_int c_entered;

static void *c_waiter(void *a)
{
    struct aiocb *cb = a;
    const struct aiocb *l[1] = {cb};
    atomic_store(&c_entered, 1);
    for (;;) {
        aio_suspend(l, 1, NULL); /* a cancellation point while it waits */
        pthread_testcancel();    /* once the request is done */
    }
    return NULL;
}

static void scen_c(void)
{
    enum { ROUNDS = 50, BIG = 256 * BS };
    unsigned char *b = aligned_buf(BIG + BS);
    int all_cancelled = 1, later_ok = 1;
    for (int r = 0; r < ROUNDS; r++) {
        /* 1 MiB: long enough for the cancel to find it waiting */
        struct aiocb cb;
        cb_init(&cb, fd, b + BS, BIG, (off_t)((r * 11) % (NBLK - 256)) * BS);
        CHECK(aio_read(&cb) == 0);
        atomic_store(&c_entered, 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, c_waiter, &cb) == 0);
        while (!atomic_load(&c_entered))
            sleep_us(10);
        sleep_us(rand() % 500);
        CHECK(pthread_cancel(t) == 0);
        void *ret;
        CHECK(pthread_join(t, &ret) == 0);
        if (ret != PTHREAD_CANCELED)
            all_cancelled = 0;
        wait_done(&cb, LONG_MS);
        /* a new request, waited for with aio_suspend by this thread */
        struct aiocb cb2;
        rd_init(&cb2, b, (r * 17 + 3) % NBLK);
        CHECK(aio_read(&cb2) == 0);
        const struct aiocb *l[1] = {&cb2};
        struct timespec to = {2, 0};
        long long t0 = now_ms();
        while (aio_error(&cb2) == EINPROGRESS && now_ms() - t0 < 2000)
            aio_suspend(l, 1, &to);
        int big_ok = aio_error(&cb) == 0 && aio_return(&cb) == BIG && check_pat(b + BS, BIG, cb.aio_offset);
        if (now_ms() - t0 >= 1000 || !ok_data(&cb2) || !big_ok)
            later_ok = 0;
    }
    printf("C: %d waiters cancelled in aio_suspend ended with PTHREAD_CANCELED: %d\n", ROUNDS, all_cancelled);
    printf("C: aio_suspend after each cancellation returned promptly with its request done: %d\n", later_ok);
    free(b);
}

/* ---------------------------------------------------------------- M */
static atomic_int m_bad;

static void *m_worker(void *a)
{
    int id = (int)(intptr_t)a;
    unsigned char *b = aligned_buf(4 * BS);
    for (int r = 0; r < 500; r++) {
        struct aiocb cbs[4];
        const struct aiocb *l[4];
        for (int i = 0; i < 4; i++) {
            rd_init(&cbs[i], b + i * BS, (id * 131 + r * 4 + i) % NBLK);
            CHECK(aio_read(&cbs[i]) == 0);
            l[i] = &cbs[i];
        }
        long long t0 = now_ms();
        for (;;) {
            int left = 0;
            for (int i = 0; i < 4; i++)
                left += aio_error(&cbs[i]) == EINPROGRESS;
            if (!left || now_ms() - t0 > LONG_MS)
                break;
            aio_suspend(l, 4, NULL);
        }
        for (int i = 0; i < 4; i++)
            if (!ok_data(&cbs[i]))
                atomic_fetch_add(&m_bad, 1);
    }
    free(b);
    return NULL;
}

static void *m_poller(void *a)
{
    (void)a;
    unsigned char *b = aligned_buf(BS);
    for (int r = 0; r < 500; r++) {
        struct aiocb cb;
        rd_init(&cb, b, (r * 29 + 5) % NBLK);
        CHECK(aio_read(&cb) == 0);
        if (wait_done(&cb, LONG_MS) != 0 || !ok_data(&cb))
            atomic_fetch_add(&m_bad, 1);
    }
    free(b);
    return NULL;
}

static void scen_m(void)
{
    pthread_t t[5];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, m_worker, (void *)(intptr_t)i) == 0);
    CHECK(pthread_create(&t[4], NULL, m_poller, NULL) == 0);
    for (int i = 0; i < 5; i++)
        pthread_join(t[i], NULL);
    printf("M: 4 waiting threads and 1 polling thread, every request done with the right data: %d\n",
           atomic_load(&m_bad) == 0);
}

/* ---------------------------------------------------------------- P */
static void scen_p(void)
{
    unsigned char *b = aligned_buf(BS);
    struct aiocb cb;
    rd_init(&cb, b, 3);
    CHECK(aio_read(&cb) == 0);
    const struct aiocb *l[1] = {&cb};
    while (aio_error(&cb) == EINPROGRESS)
        aio_suspend(l, 1, NULL);
    int ok = ok_data(&cb);
    for (int r = 0; r < 50; r++) {
        rd_init(&cb, b, (r * 37 + 9) % NBLK);
        CHECK(aio_read(&cb) == 0);
        if (wait_done(&cb, LONG_MS) != 0 || !ok_data(&cb))
            ok = 0;
    }
    printf("P: after an aio_suspend, 50 requests only polled with aio_error: all done: %d\n", ok);
    free(b);
}

/* ---------------------------------------------------------------- W */
static atomic_int w_notified;

static void w_notify(union sigval v)
{
    (void)v;
    atomic_fetch_add(&w_notified, 1);
}

static void scen_w(void)
{
    enum { ROUNDS = 300, BIG = 64 * BS };
    unsigned char *b = aligned_buf(BIG + BS);
    int ok = 1, slow = 0;
    for (int r = 0; r < ROUNDS; r++) {
        struct aiocb small, big;
        rd_init(&small, b, (r * 41 + 2) % NBLK);
        cb_init(&big, fd, b + BS, BIG, (off_t)((r * 19) % (NBLK - 64)) * BS);
        big.aio_sigevent.sigev_notify = SIGEV_THREAD;
        big.aio_sigevent.sigev_notify_function = w_notify;
        CHECK(aio_read(&small) == 0);
        CHECK(aio_read(&big) == 0);
        const struct aiocb *l[1] = {&small};
        long long t0 = now_ms();
        /* aio_suspend first: an aio_error that finds a request in progress
         * makes the reaper leave the role to polling for a while, which
         * would hide the bug this scenario is about. */
        do
            aio_suspend(l, 1, NULL);
        while (aio_error(&small) == EINPROGRESS && now_ms() - t0 < LONG_MS);
        t0 = now_ms();
        /* Waited for by its notification, never by aio_error: a polling
         * aio_error reaps the ring itself and would hide a stranded one. */
        while (atomic_load(&w_notified) < r + 1 && now_ms() - t0 < LONG_MS)
            sleep_us(200);
        int e = atomic_load(&w_notified) >= r + 1 ? aio_error(&big) : EINPROGRESS;
        if (now_ms() - t0 > 1000)
            slow++;
        if (e != 0 || !ok_data(&small) || aio_return(&big) != BIG || !check_pat(b + BS, BIG, big.aio_offset)) {
            ok = 0;
            if (e == EINPROGRESS) { /* stranded: the rest would only repeat it */
                aio_cancel(fd, NULL);
                wait_done(&big, LONG_MS);
                break;
            }
        }
    }
    long long t0 = now_ms();
    while (ok && atomic_load(&w_notified) < ROUNDS && now_ms() - t0 < LONG_MS)
        sleep_us(1000); /* (each round already waited for its own) */
    printf("W: a notified read, after a waiter wanted the role: all done with the right data: %d\n", ok);
    printf("W: none of them took more than a second: %d\n", slow == 0);
    printf("W: every notification ran: %d\n", ok && atomic_load(&w_notified) == ROUNDS);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: kaio_waiters DIR");
    CHECK(chdir(argv[1]) == 0);
    fd = make_file_at("kaio_waiters.dat", FSZ, O_RDONLY | O_DIRECT);
    if (fd < 0 && errno == EINVAL) {
        printf("SKIP no O_DIRECT\n");
        return 0;
    }
    CHECK(fd >= 0);
    srand(7);
    scen_w();
    scen_p();
    scen_m();
    scen_c();
    scen_n();
    close(fd);
    unlink("kaio_waiters.dat");
    return rel_exit();
}
