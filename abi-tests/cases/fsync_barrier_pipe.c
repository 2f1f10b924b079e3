/* aio_fsync is a barrier behind the earlier requests on its fd, even when
 * one of them cannot complete: on a pipe with a read blocked on no data, an
 * aio_fsync of the same fd stays in progress until the read is done (and
 * then fails with EINVAL: pipes cannot be synced).  A request submitted
 * after the fsync completes after it. */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    static char b1[4], b2[4];
    struct aiocb r1, s, r2;
    cb_init(&r1, p[0], b1, 4, 0);
    cb_init(&s, p[0], NULL, 0, 0);
    cb_init(&r2, p[0], b2, 4, 0);
    SHOW("aio_read(r1) empty pipe", aio_read(&r1));
    sleep_ms(50);
    SHOW("aio_fsync(O_SYNC, same fd)", aio_fsync(O_SYNC, &s));
    SHOW("aio_read(r2) after the fsync", aio_read(&r2));
    sleep_ms(200);
    printf("after 200 ms: r1=%s fsync=%s r2=%s\n", en(aio_error(&r1)), en(aio_error(&s)),
           en(aio_error(&r2)));
    CHECK(write(p[1], "1111", 4) == 4);
    printf("r1 wait=%s\n", en(wait_done(&r1, LONG_MS)));
    printf("fsync wait=%s\n", en(wait_done(&s, LONG_MS)));
    sleep_ms(100);
    printf("r2 (no data yet)=%s\n", en(aio_error(&r2)));
    CHECK(write(p[1], "2222", 4) == 4);
    printf("r2 wait=%s\n", en(wait_done(&r2, LONG_MS)));
    show_cb("r1", &r1);
    show_cb("fsync", &s);
    show_cb("r2", &r2);
    printf("data %.4s %.4s\n", b1, b2);
    return 0;
}
