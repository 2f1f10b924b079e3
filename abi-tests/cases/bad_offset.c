/* A negative offset on a seekable file is reported through aio_error as
 * EINVAL (not at submit).  Offsets past the end: reads return 0, writes
 * extend the file. */
#include "common.h"

int main(void)
{
    int fd = make_file(4096);
    static char buf[100];
    struct aiocb cb;
    off_t offs[] = { -1, -4096, (off_t)INT64_MIN };
    for (int i = 0; i < 3; i++) {
        cb_init(&cb, fd, buf, sizeof buf, offs[i]);
        SHOW("aio_read(negative offset)", aio_read(&cb));
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  read", &cb);
        cb_init(&cb, fd, buf, sizeof buf, offs[i]);
        SHOW("aio_write(negative offset)", aio_write(&cb));
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  write", &cb);
    }
    cb_init(&cb, fd, buf, sizeof buf, 1 << 20);
    SHOW("aio_read(offset 1 MiB, past EOF)", aio_read(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);
    /* writing past the maximum file size */
    cb_init(&cb, fd, buf, sizeof buf, (off_t)INT64_MAX - 10);
    SHOW("aio_write(offset INT64_MAX-10)", aio_write(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  write", &cb);
    printf("file size = %lld\n", (long long)file_size(fd));
    /* a negative offset on a pipe is ignored (read()/write() fallback) */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "xyz", 3) == 3);
    cb_init(&cb, p[0], buf, 3, -5);
    SHOW("aio_read(pipe, negative offset)", aio_read(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);
    printf("  data=%.3s\n", buf);
    close(fd);
    return 0;
}
