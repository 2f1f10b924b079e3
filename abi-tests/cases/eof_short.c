/* End of file and short reads on a regular file. */
#include "common.h"

int main(void)
{
    int fd = make_file(10000);
    static char b[8192];
    struct { off_t off; size_t n; } t[] = {
        { 0, 8192 }, { 8192, 4096 }, { 9999, 100 }, { 10000, 100 }, { 20000, 100 },
        { 5000, 8192 }, { 0, 0 },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct aiocb c;
        memset(b, 0, sizeof b);
        cb_init(&c, fd, b, t[i].n, t[i].off);
        printf("aio_read(offset %lld, %zu bytes) = %d", (long long)t[i].off, t[i].n, aio_read(&c));
        printf(" -> %s", en(wait_done(&c, LONG_MS)));
        ssize_t r = aio_return(&c);
        printf(" return=%zd data ok=%d\n", r, r >= 0 ? check_pat(b, (size_t)r, t[i].off) : -1);
    }
    /* a truncated file under a pending read is not needed: also check a
     * hole reads as zeros */
    CHECK(ftruncate(fd, 1 << 20) == 0);
    struct aiocb c;
    cb_init(&c, fd, b, 4096, 500000);
    memset(b, 1, sizeof b);
    SHOW("aio_read(hole)", aio_read(&c));
    {
        int _w = wait_done(&c, LONG_MS);
        printf("wait=%s return=%zd\n", en(_w), aio_return(&c));
    }
    int zero = 1;
    for (int i = 0; i < 4096; i++)
        zero &= b[i] == 0;
    printf("hole reads zeros = %d\n", zero);
    close(fd);
    return 0;
}
