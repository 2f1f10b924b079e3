/* The process exits normally (return from main) with requests still in
 * flight: a read blocked on an empty pipe, a queued one behind it, and a
 * batch of file writes.  Exit must neither hang nor crash (exit status 0, stats written). */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[2][4];
    static struct aiocb c[2], w[64];
    for (int i = 0; i < 2; i++) {
        cb_init(&c[i], p[0], b[i], 4, 0);
        CHECK(aio_read(&c[i]) == 0);
    }
    int fd = make_file(0);
    static char wb[64][4096];
    for (int i = 0; i < 64; i++) {
        cb_init(&w[i], fd, wb[i], 4096, (off_t)i * 4096);
        CHECK(aio_write(&w[i]) == 0);
    }
    sleep_ms(50);
    printf("pipe reads in progress = %d %d\n", aio_error(&c[0]) == EINPROGRESS,
           aio_error(&c[1]) == EINPROGRESS);
    printf("returning from main with requests in flight\n");
    return 0;
}
