/* A thread blocked in aio_suspend on a queued request is woken when that
 * request is cancelled (returns 0; the request shows ECANCELED). */
#include "common.h"

static struct aiocb q;
static atomic_int entered;
static volatile int sret = -2, serr;

static void *waiter(void *arg)
{
    (void)arg;
    const struct aiocb *l[] = { &q };
    struct timespec t10 = { 10, 0 };
    atomic_store(&entered, 1);
    int r;
    do {
        r = aio_suspend(l, 1, &t10);
    } while (r == -1 && errno == EINTR);
    serr = r == -1 ? errno : 0;
    sret = r;
    return NULL;
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    static char b1[4], b2[4];
    struct aiocb first;
    cb_init(&first, p[0], b1, 4, 0);
    CHECK(aio_read(&first) == 0);
    sleep_ms(100);
    cb_init(&q, p[0], b2, 4, 0);
    CHECK(aio_read(&q) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter, NULL) == 0);
    wait_flag(&entered, 1, LONG_MS);
    sleep_ms(100);
    SHOW_CANCEL("aio_cancel(p0, queued request)", aio_cancel(p[0], &q));
    pthread_join(t, NULL);
    printf("aio_suspend in the other thread returned %d errno=%s\n", sret, en(serr));
    show_cb("q", &q);
    CHECK(write(p[1], "abcd", 4) == 4);
    printf("first wait=%s\n", en(wait_done(&first, LONG_MS)));
    show_cb("first", &first);
    return 0;
}
