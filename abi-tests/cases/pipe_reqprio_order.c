/* Queued requests on one fd run in aio_reqprio order (a larger aio_reqprio
 * lowers the priority); equal priorities keep submission order.  On a pipe:
 * the first read is running; the queued ones are then served by priority. */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    static char first[4];
    struct aiocb f;
    cb_init(&f, p[0], first, 4, 0);
    CHECK(aio_read(&f) == 0);
    sleep_ms(100);
    int prios[6] = { 5, 0, 20, 0, 5, 1 };
    static char b[6][5];
    struct aiocb c[6];
    for (int i = 0; i < 6; i++) {
        memset(b[i], 0, 5);
        cb_init(&c[i], p[0], b[i], 4, 0);
        c[i].aio_reqprio = prios[i];
        CHECK(aio_read(&c[i]) == 0);
    }
    CHECK(write(p[1], "0000aaaabbbbccccddddeeeeffff", 28) == 28);
    int lf = wait_done(&f, LONG_MS) == EINPROGRESS;
    int lc = wait_array(c, 6, LONG_MS);
    printf("remaining = %d %d\n", lf, lc);
    printf("first got %.4s\n", first);
    for (int i = 0; i < 6; i++)
        printf("reqprio %2d (submitted #%d) got %s\n", prios[i], i, b[i]);
    return 0;
}
