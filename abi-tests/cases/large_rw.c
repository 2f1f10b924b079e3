/* One large write and one large read (8 MiB) and a read that straddles EOF. */
#include "common.h"

#define SZ (8u << 20)

int main(void)
{
    int fd = make_file(0);
    char *w = malloc(SZ), *r = malloc(SZ);
    CHECK(w && r);
    fill_pat(w, SZ, 0);
    struct aiocb c;
    cb_init(&c, fd, w, SZ, 0);
    SHOW("aio_write(8 MiB)", aio_write(&c));
    {
        int _w = wait_done(&c, 30000);
        printf("wait=%s return=%zd\n", en(_w), aio_return(&c));
    }
    cb_init(&c, fd, r, SZ, 0);
    SHOW("aio_read(8 MiB)", aio_read(&c));
    {
        int _w = wait_done(&c, 30000);
        printf("wait=%s return=%zd data ok=%d\n", en(_w), aio_return(&c),
           check_pat(r, SZ, 0));
    }
    cb_init(&c, fd, r, SZ, SZ / 2);
    SHOW("aio_read(8 MiB at 4 MiB)", aio_read(&c));
    {
        int _w = wait_done(&c, 30000);
        printf("wait=%s return=%zd data ok=%d\n", en(_w), aio_return(&c),
           check_pat(r, SZ / 2, SZ / 2));
    }
    close(fd);
    return 0;
}
