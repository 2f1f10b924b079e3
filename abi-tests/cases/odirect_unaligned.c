/* O_DIRECT with a misaligned buffer, offset or length: EINVAL through
 * aio_error (not at submit). */
#include "common.h"

int main(void)
{
    int fd = make_direct_file(1 << 16);
    char *b = aligned_buf(3 * 4096);
    struct { const char *what; char *buf; size_t n; off_t off; } t[] = {
        { "buffer+1", b + 1, 4096, 0 },
        { "offset 1", b, 4096, 1 },
        { "length 100", b, 100, 0 },
        { "length 4097", b, 4097, 0 },
        { "aligned", b, 4096, 4096 },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct aiocb c;
        cb_init(&c, fd, t[i].buf, t[i].n, t[i].off);
        int r = aio_read(&c);
        printf("aio_read(O_DIRECT, %s) = %d -> %s", t[i].what, r, en(wait_done(&c, LONG_MS)));
        printf(" return=%zd\n", aio_return(&c));
        cb_init(&c, fd, t[i].buf, t[i].n, t[i].off);
        r = aio_write(&c);
        printf("aio_write(O_DIRECT, %s) = %d -> %s", t[i].what, r, en(wait_done(&c, LONG_MS)));
        printf(" return=%zd\n", aio_return(&c));
    }
    printf("file size = %lld\n", (long long)file_size(fd));
    close(fd);
    return 0;
}
