/* SIGEV_SIGNAL: a queued, process-directed signal with si_code SI_ASYNCIO,
 * si_pid = getpid(), si_uid = getuid(), si_value = sigev_value; sent after
 * the result is stored; one signal per request; failed requests are
 * notified too.  Received with sigtimedwait while blocked (XRootD style),
 * from the main thread and from another thread.  The shim serves these
 * buffered requests on its workers, never inside aio_read (where the
 * handler would run before aio_read returned). */
// EXPECT-STAT fallback_signal>0
#include "common.h"

static int SIG;
static struct aiocb tcb;
static siginfo_t tsi;
static int tgot;

static void *waiter(void *arg)
{
    (void)arg;
    tgot = wait_signal(SIG, LONG_MS, &tsi);
    return NULL;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(void)
{
    SIG = SIGRTMIN + 1;
    block_signal(SIG);
    block_signal(SIGUSR1);
    int fd = make_file(65536);
    static char buf[8][512];
    siginfo_t si;

    /* 1: one read, sival_int */
    struct aiocb cb;
    cb_init(&cb, fd, buf[0], 512, 0);
    cb_signal(&cb, SIG, 42);
    SHOW("aio_read(SIGEV_SIGNAL, sival_int 42)", aio_read(&cb));
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("signal received = %d\n", got == SIG);
    if (got)
        print_siginfo("  siginfo", &si);
    printf("  request complete when signal received = %d\n", aio_error(&cb) != EINPROGRESS);
    show_cb("  read", &cb);
    printf("  extra signals = %d\n", drain_signal(SIG, 100));

    /* 2: sival_ptr pointing at the aiocb (stress-ng style) */
    cb_init(&cb, fd, buf[0], 512, 512);
    cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    cb.aio_sigevent.sigev_signo = SIG;
    cb.aio_sigevent.sigev_value.sival_ptr = &cb;
    SHOW("aio_write(SIGEV_SIGNAL, sival_ptr &cb)", aio_write(&cb));
    got = wait_signal(SIG, LONG_MS, &si);
    printf("signal received = %d sival_ptr_is_cb = %d code_ok = %d\n", got == SIG,
           got && si.si_value.sival_ptr == &cb, got && si.si_code == SI_ASYNCIO);
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  write", &cb);

    /* 3: eight requests, eight queued signals */
    struct aiocb m[8];
    for (int i = 0; i < 8; i++) {
        cb_init(&m[i], fd, buf[i], 512, i * 512);
        cb_signal(&m[i], SIG, 100 + i);
        CHECK(aio_read(&m[i]) == 0);
    }
    int vals[8], n = 0;
    while (n < 8 && wait_signal(SIG, LONG_MS, &si) == SIG)
        vals[n++] = si.si_value.sival_int;
    qsort(vals, n, sizeof(int), cmp_int);
    printf("8 requests: %d signals, values:", n);
    for (int i = 0; i < n; i++)
        printf(" %d", vals[i]);
    printf("\n");
    printf("  all complete = %d\n", wait_array(m, 8, LONG_MS) == 0);
    printf("  extra signals = %d\n", drain_signal(SIG, 100));

    /* 4: a failed request is notified too */
    cb_init(&cb, closed_fd(), buf[0], 512, 0);
    cb_signal(&cb, SIG, 7);
    SHOW("aio_read(closed fd, SIGEV_SIGNAL)", aio_read(&cb));
    got = wait_signal(SIG, LONG_MS, &si);
    printf("signal received = %d value=%d\n", got == SIG, got ? si.si_value.sival_int : -1);
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);

    /* 5: fsync notifies as well */
    cb_init(&cb, fd, NULL, 0, 0);
    cb_signal(&cb, SIG, 8);
    SHOW("aio_fsync(O_SYNC, SIGEV_SIGNAL)", aio_fsync(O_SYNC, &cb));
    got = wait_signal(SIG, LONG_MS, &si);
    printf("signal received = %d value=%d code_ok=%d\n", got == SIG,
           got ? si.si_value.sival_int : -1, got && si.si_code == SI_ASYNCIO);
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));

    /* 6: a non-realtime signal */
    cb_init(&cb, fd, buf[0], 512, 0);
    cb_signal(&cb, SIGUSR1, 9);
    SHOW("aio_read(SIGEV_SIGNAL SIGUSR1)", aio_read(&cb));
    got = wait_signal(SIGUSR1, LONG_MS, &si);
    printf("signal received = %d\n", got == SIGUSR1);
    if (got)
        print_siginfo("  siginfo", &si);

    /* 7: another thread waits for the signal (process-directed) */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter, NULL) == 0);
    cb_init(&tcb, fd, buf[0], 512, 0);
    cb_signal(&tcb, SIG, 77);
    SHOW("aio_read(SIGEV_SIGNAL, waited for by another thread)", aio_read(&tcb));
    pthread_join(t, NULL);
    printf("waiter thread received = %d\n", tgot == SIG);
    if (tgot)
        print_siginfo("  siginfo", &tsi);
    printf("  extra signals = %d\n", drain_signal(SIG, 100));
    close(fd);
    return 0;
}
