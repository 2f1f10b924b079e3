/* aio_cancel(fd, NULL) racing the completion of a request on a worker:
 * AIO_ALLDONE promises that every request of the fd is done, so the
 * aio_error of a request submitted before the call must not say
 * EINPROGRESS any more (glibc stores results under the lock aio_cancel
 * takes).  The main thread submits 2000 signalled 1536-byte writes one
 * after another (served on the shim's workers) and polls each to its end;
 * another thread calls aio_cancel(fd, NULL) in a loop and, on AIO_ALLDONE,
 * looks at the last request whose aio_write had returned before its call.
 * The shim once took a request out of the fd's table before storing its
 * result and answered AIO_ALLDONE in between; found by the differential
 * fuzzer. */
// EXPECT-STAT pool>0
#include "common.h"

enum { N = 2000, RING = 64 };
static struct aiocb cbs[RING];
static atomic_int submitted = -1;
static atomic_int stop;
static int fd;
static int bad, cancels;

static void *canceller(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int s = atomic_load(&submitted);
        if (s < 0)
            continue;
        int r = aio_cancel(fd, NULL);
        cancels++;
        if (r == AIO_ALLDONE && aio_error(&cbs[s % RING]) == EINPROGRESS &&
            atomic_load(&submitted) - s < RING / 2)
            bad++;
    }
    return NULL;
}

int main(void)
{
    fd = make_file(RING * 4096);
    static char b[1536];
    signal(SIGUSR2, SIG_IGN);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, canceller, NULL) == 0);
    int other = 0;
    for (int i = 0; i < N; i++) {
        struct aiocb *c = &cbs[i % RING];
        cb_init(c, fd, b, sizeof b, (off_t)(i % RING) * 4096);
        cb_signal(c, SIGUSR2, i);
        CHECK(aio_write(c) == 0);
        atomic_store(&submitted, i);
        long long end = now_ms() + LONG_MS;
        int e;
        while ((e = aio_error(c)) == EINPROGRESS && now_ms() < end)
            sched_yield();
        if (e != 0 && e != ECANCELED)
            other++;
        aio_return(c);
    }
    atomic_store(&stop, 1);
    CHECK(pthread_join(t, NULL) == 0);
    printf("aio_cancel(fd, NULL) = AIO_ALLDONE with an earlier request in progress: %d times\n", bad);
    printf("requests failed otherwise: %d\n", other);
    fprintf(stderr, "%d aio_cancel calls\n", cancels);
    close(fd);
    return 0;
}
