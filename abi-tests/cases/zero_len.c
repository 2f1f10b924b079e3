/* Zero-length reads and writes: 0 bytes, no error, on a file, at and past
 * EOF, on an empty pipe (a 0-byte read does not block), with a NULL
 * buffer. */
#include "common.h"

int main(void)
{
    int fd = make_file(4096);
    static char b[16];
    struct aiocb c;
    struct { int write; off_t off; void *buf; } t[] = {
        { 0, 0, b }, { 1, 0, b }, { 0, 4096, b }, { 0, 100000, b }, { 1, 100000, b },
        { 0, 0, NULL }, { 1, 0, NULL },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        cb_init(&c, fd, t[i].buf, 0, t[i].off);
        int r = t[i].write ? aio_write(&c) : aio_read(&c);
        printf("%s(0 bytes, offset %lld, %s) = %d -> %s", t[i].write ? "aio_write" : "aio_read",
               (long long)t[i].off, t[i].buf ? "buffer" : "NULL", r, en(wait_done(&c, LONG_MS)));
        printf(" return=%zd\n", aio_return(&c));
    }
    printf("file size = %lld\n", (long long)file_size(fd));
    int p[2];
    CHECK(pipe(p) == 0);
    cb_init(&c, p[0], b, 0, 0);
    SHOW("aio_read(empty pipe, 0 bytes)", aio_read(&c));
    {
        int _w = wait_done(&c, LONG_MS);
        printf("wait=%s return=%zd\n", en(_w), aio_return(&c));
    }
    cb_init(&c, p[1], b, 0, 0);
    SHOW("aio_write(pipe, 0 bytes)", aio_write(&c));
    {
        int _w = wait_done(&c, LONG_MS);
        printf("wait=%s return=%zd\n", en(_w), aio_return(&c));
    }
    struct aiocb *l[1];
    cb_init(&c, fd, b, 0, 0);
    c.aio_lio_opcode = LIO_READ;
    l[0] = &c;
    SHOW("lio_listio(LIO_WAIT, 0-byte read)", lio_listio(LIO_WAIT, l, 1, NULL));
    show_cb("c", &c);
    close(fd);
    return 0;
}
