/* aio_suspend on a request that cannot complete (read on an empty pipe):
 * the relative timeout expires -> -1 EAGAIN; zero timeout -> -1 EAGAIN at
 * once.  The wait really lasts about as long as the timeout (checked as a
 * boolean with wide bounds). */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[4];
    struct aiocb c;
    cb_init(&c, p[0], b, 4, 0);
    CHECK(aio_read(&c) == 0);
    const struct aiocb *l[] = { &c };
    struct timespec t0 = { 0, 0 };
    struct timespec t200 = { 0, 200000000 };
    struct timespec t1s = { 1, 0 };
    SHOW("aio_suspend(pending, zero timeout)", aio_suspend(l, 1, &t0));
    long long s = now_ms();
    SHOW("aio_suspend(pending, 200 ms)", aio_suspend(l, 1, &t200));
    long long d = now_ms() - s;
    printf("  waited at least 150 ms = %d, less than 5 s = %d\n", d >= 150, d < 5000);
    s = now_ms();
    SHOW("aio_suspend(pending, 1 s)", aio_suspend(l, 1, &t1s));
    d = now_ms() - s;
    printf("  waited at least 900 ms = %d, less than 6 s = %d\n", d >= 900, d < 6000);
    const struct aiocb *l2[] = { NULL, &c, NULL };
    SHOW("aio_suspend([NULL, pending, NULL], 200 ms)", aio_suspend(l2, 3, &t200));
    printf("still in progress = %d\n", aio_error(&c) == EINPROGRESS);
    CHECK(write(p[1], "done", 4) == 4);
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    SHOW("aio_suspend(now done, zero timeout)", aio_suspend(l, 1, &t0));
    show_cb("c", &c);
    return 0;
}
