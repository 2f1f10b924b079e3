/* aio_suspend interrupted by a signal handler (no SA_RESTART) -> -1 EINTR,
 * with and without a timeout.  Signals come from another thread
 * (pthread_kill every 20 ms until the call returns) and from SIGALRM
 * (setitimer, repeating). */
#include "common.h"

static atomic_int stop, handled;
static pthread_t main_thread;

static void on_sig(int sig)
{
    (void)sig;
    atomic_fetch_add(&handled, 1);
}

static void *kicker(void *arg)
{
    (void)arg;
    sleep_ms(30);
    long long end = now_ms() + LONG_MS;
    while (!atomic_load(&stop) && now_ms() < end) {
        pthread_kill(main_thread, SIGUSR1);
        sleep_ms(20);
    }
    return NULL;
}

static void with_kicker(const char *label, const struct aiocb *const *l, int n,
                        const struct timespec *ts)
{
    atomic_store(&stop, 0);
    atomic_store(&handled, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, kicker, NULL) == 0);
    SHOW(label, aio_suspend(l, n, ts));
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("  handler ran = %d\n", atomic_load(&handled) > 0);
}

int main(void)
{
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[4];
    struct aiocb c;
    cb_init(&c, p[0], b, 4, 0);
    CHECK(aio_read(&c) == 0);
    const struct aiocb *l[] = { &c };
    struct timespec t10 = { 10, 0 };
    with_kicker("aio_suspend(pending, NULL) + pthread_kill", l, 1, NULL);
    with_kicker("aio_suspend(pending, 10 s) + pthread_kill", l, 1, &t10);

    struct itimerval it = { { 0, 20000 }, { 0, 30000 } };
    atomic_store(&handled, 0);
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    SHOW("aio_suspend(pending, NULL) + SIGALRM", aio_suspend(l, 1, NULL));
    SHOW("aio_suspend(pending, 10 s) + SIGALRM", aio_suspend(l, 1, &t10));
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    printf("  handler ran = %d\n", atomic_load(&handled) > 0);

    printf("still in progress = %d\n", aio_error(&c) == EINPROGRESS);
    CHECK(write(p[1], "done", 4) == 4);
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    return 0;
}
