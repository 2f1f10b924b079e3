/* aio_suspend with a negative (already expired) relative timeout on a
 * request that cannot complete: glibc adds it to the current
 * CLOCK_MONOTONIC time, finds the deadline passed and fails with EAGAIN
 * (like a zero timeout).  With a finished request in the list the timeout
 * is not looked at: 0.  (tv_nsec outside 0..999999999 is not tested: glibc
 * aborts on an assertion there.) */
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
    struct timespec neg1 = { -1, 0 };
    struct timespec neg100 = { -100, 999999999 };
    struct timespec max_nsec = { 0, 999999999 };
    SHOW("aio_suspend(pending, {-1, 0})", aio_suspend(l, 1, &neg1));
    SHOW("aio_suspend(pending, {-100, 999999999})", aio_suspend(l, 1, &neg100));
    long long s = now_ms();
    SHOW("aio_suspend(pending, {0, 999999999})", aio_suspend(l, 1, &max_nsec));
    printf("  waited at least 900 ms = %d\n", now_ms() - s >= 900);
    printf("still in progress = %d\n", aio_error(&c) == EINPROGRESS);
    CHECK(write(p[1], "done", 4) == 4);
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    SHOW("aio_suspend(done, {-1, 0})", aio_suspend(l, 1, &neg1));
    show_cb("c", &c);
    return 0;
}
