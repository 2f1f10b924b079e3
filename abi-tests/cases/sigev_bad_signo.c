/* SIGEV_SIGNAL with an invalid signal number: submit succeeds; glibc's
 * notification fails and overwrites the result with EINVAL / -1.  The
 * request is followed by a second one on the same pipe; requests on a pipe
 * run in submission order, so once the second is done, the first (and its
 * notification) is final.  Signal 0 is valid (nothing is sent). */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "abcdefgh", 8) == 8);
    int bad[] = { 200, -1, 0 };
    for (int k = 0; k < 3; k++) {
        static char b1[4], b2[4];
        struct aiocb a, b;
        cb_init(&a, p[0], b1, 4, 0);
        cb_signal(&a, bad[k], 1);
        cb_init(&b, p[0], b2, 4, 0);
        printf("sigev_signo = %d\n", bad[k]);
        SHOW("aio_read(bad signo)", aio_read(&a));
        SHOW("aio_read(follow-up, same pipe)", aio_read(&b));
        printf("  follow-up wait=%s\n", en(wait_done(&b, LONG_MS)));
        printf("  first wait=%s\n", en(wait_done(&a, LONG_MS)));
        show_cb("  first", &a);
        show_cb("  follow-up", &b);
        CHECK(write(p[1], "abcdefgh", 8) == 8);
    }
    return 0;
}
