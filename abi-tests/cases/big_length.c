/* Huge aio_nbytes values: SIZE_MAX and SSIZE_MAX+1 fail in the kernel
 * (EFAULT here, as read() itself does);
 * 4 GiB + 3 on a regular file and on a pipe reads what is there (the length
 * must not be truncated to 32 bits). */
#include "common.h"

int main(void)
{
    int fd = make_file(100);
    static char b[4096];
    struct aiocb c;
    size_t big = ((size_t)1 << 32) + 3;
    cb_init(&c, fd, b, SIZE_MAX, 0);
    SHOW("aio_read(file, SIZE_MAX)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    cb_init(&c, fd, b, (size_t)SSIZE_MAX + 1, 0);
    SHOW("aio_read(file, SSIZE_MAX+1)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    cb_init(&c, fd, b, big, 0);
    SHOW("aio_read(file of 100 bytes, 4 GiB + 3)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    printf("  data ok = %d\n", check_pat(b, 100, 0));
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "0123456789", 10) == 10);
    cb_init(&c, p[0], b, big, 0);
    SHOW("aio_read(pipe holding 10 bytes, 4 GiB + 3)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    printf("  data = %.10s\n", b);
    cb_init(&c, p[0], b, (size_t)1 << 32, 0);
    CHECK(write(p[1], "abc", 3) == 3);
    SHOW("aio_read(pipe holding 3 bytes, 4 GiB)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    close(fd);
    return 0;
}
