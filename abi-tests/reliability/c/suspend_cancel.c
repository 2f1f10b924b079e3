/* pthread_cancel of threads blocked in aio_suspend, 300 times (no timeout,
 * a 20 s timeout, alternately). Every thread ends with PTHREAD_CANCELED;
 * nothing leaks (threads, fds, memory); the request they waited for is
 * untouched and completes when its data arrives; later AIO works.
 */
#include "../rel.h"

#define ROUNDS 300

static struct aiocb c;
static atomic_int entered;

static void *sleeper(void *arg)
{
    const struct timespec *ts = arg;
    const struct aiocb *l[] = { &c };
    atomic_store(&entered, 1);
    for (;;)
        aio_suspend(l, 1, ts);
    return NULL;
}

int main(void)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    static char b[8];
    cb_init(&c, p[0], b, 4, 0);
    CHECK(aio_read(&c) == 0);
    struct timespec t20 = { 20, 0 };
    /* a first round to reach steady state (thread stacks cached, ...) */
    int all_cancelled = 1, rounds = 0;
    int threads0 = 0, fds0 = 0;
    long rss0 = 0;
    for (int k = 0; k < ROUNDS + 1; k++) {
        if (k == 1) {
            sleep_ms(20);
            threads0 = count_threads("");
            fds0 = count_fds();
            rss0 = vm_rss_kb();
        }
        atomic_store(&entered, 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, sleeper, (k & 1) ? &t20 : NULL) == 0);
        long long end = now_ms() + LONG_MS;
        while (!atomic_load(&entered) && now_ms() < end)
            sleep_us(50);
        sleep_us(500 + (k % 7) * 100);
        CHECK(pthread_cancel(t) == 0);
        void *ret = NULL;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        int j = pthread_timedjoin_np(t, &ret, &ts);
        if (j != 0 || ret != PTHREAD_CANCELED) {
            all_cancelled = 0;
            BAD("round %d: joined=%d cancelled=%d", k, j == 0, ret == PTHREAD_CANCELED);
            if (j != 0)
                break;
        }
        rounds++;
    }
    printf("%d threads cancelled in aio_suspend: all ended with PTHREAD_CANCELED: %d\n", ROUNDS,
           all_cancelled && rounds == ROUNDS + 1);
    sleep_ms(20);
    int threads1 = count_threads(""), fds1 = count_fds();
    long rss1 = vm_rss_kb();
    printf("threads as before: %d\n", threads1 == threads0);
    printf("fds as before: %d\n", fds1 == fds0);
    printf("memory growth under 2 MiB: %d\n", rss1 - rss0 < 2048);
    if (threads1 != threads0 || fds1 != fds0 || rss1 - rss0 >= 2048)
        fprintf(stderr, "threads %d -> %d, fds %d -> %d, rss %ld -> %ld kB\n", threads0, threads1, fds0,
                fds1, rss0, rss1);
    printf("request still in progress: %d\n", aio_error(&c) == EINPROGRESS);
    CHECK(write(p[1], "done", 4) == 4);
    const struct aiocb *l[] = { &c };
    struct timespec t10 = { 10, 0 };
    int r = aio_suspend(l, 1, &t10);
    printf("aio_suspend after the cancellations = %d\n", r);
    int e = aio_error(&c);
    printf("request: aio_error=%s aio_return=%zd data ok=%d\n", en(e), aio_return(&c),
           memcmp(b, "done", 4) == 0);
    /* later AIO works */
    int fd = make_file_at("sc.dat", 65536, O_RDONLY);
    CHECK(fd >= 0);
    static char fb[4096];
    struct aiocb f;
    cb_init(&f, fd, fb, 4096, 8192);
    CHECK(aio_read(&f) == 0);
    const struct aiocb *fl[] = { &f };
    r = aio_suspend(fl, 1, &t10);
    e = aio_error(&f);
    printf("later aio_read + aio_suspend: %d %s %zd data ok=%d\n", r, en(e), aio_return(&f),
           check_pat(fb, 4096, 8192));
    unlink("sc.dat");
    return rel_exit();
}
