/* An inaccessible buffer is reported through aio_error as EFAULT.
 * The buffer is a PROT_NONE page (stays reserved, so nothing else can be
 * mapped there while the test runs). */
#include "common.h"

int main(void)
{
    int fd = make_file(8192);
    void *bad = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(bad != MAP_FAILED);
    struct aiocb cb;
    cb_init(&cb, fd, bad, 4096, 0);
    SHOW("aio_read(PROT_NONE buffer)", aio_read(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);
    cb_init(&cb, fd, bad, 4096, 0);
    SHOW("aio_write(PROT_NONE buffer)", aio_write(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  write", &cb);
    /* read-only page as a read target */
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ro != MAP_FAILED);
    cb_init(&cb, fd, ro, 4096, 0);
    SHOW("aio_read(read-only buffer)", aio_read(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);
    /* pipe */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "hello", 5) == 5);
    cb_init(&cb, p[0], bad, 5, 0);
    SHOW("aio_read(pipe, PROT_NONE buffer)", aio_read(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);
    cb_init(&cb, p[1], bad, 5, 0);
    SHOW("aio_write(pipe, PROT_NONE buffer)", aio_write(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  write", &cb);
    printf("file size = %lld\n", (long long)file_size(fd));
    close(fd);
    return 0;
}
