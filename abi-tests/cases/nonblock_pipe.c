/* O_NONBLOCK descriptors keep their semantics: a read on an empty
 * non-blocking pipe fails with EAGAIN (it does not wait for data); a write
 * to a full non-blocking pipe fails with EAGAIN or is short. */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe2(p, O_NONBLOCK) == 0);
    static char b[8];
    struct aiocb c;
    cb_init(&c, p[0], b, 8, 0);
    SHOW("aio_read(empty O_NONBLOCK pipe)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    CHECK(write(p[1], "xy", 2) == 2);
    cb_init(&c, p[0], b, 8, 0);
    SHOW("aio_read(O_NONBLOCK pipe with 2 bytes)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    /* fill the pipe */
    static char fill[4096];
    long total = 0;
    for (;;) {
        ssize_t w = write(p[1], fill, sizeof fill);
        if (w <= 0)
            break;
        total += w;
    }
    printf("pipe filled: %d\n", total > 0);
    cb_init(&c, p[1], fill, 4096, 0);
    SHOW("aio_write(full O_NONBLOCK pipe)", aio_write(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  write", &c);
    int s[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s) == 0);
    cb_init(&c, s[0], b, 8, 0);
    SHOW("aio_read(empty O_NONBLOCK socket)", aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  read", &c);
    return 0;
}
