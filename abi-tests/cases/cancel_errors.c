/* aio_cancel argument errors and finished requests: bad fd -> -1 EBADF
 * (also with an aiocb); aiocb for another fd -> -1 EINVAL; a finished
 * request -> AIO_ALLDONE; fd with nothing queued -> AIO_ALLDONE. */
#include "common.h"

int main(void)
{
    int fd = make_file(8192);
    int fd2 = make_file(8192);
    static char b[4096];
    struct aiocb c;
    cb_init(&c, fd, b, 4096, 0);
    CHECK(aio_read(&c) == 0);
    CHECK(wait_done(&c, LONG_MS) == 0);
    int bad = closed_fd();
    SHOW_CANCEL("aio_cancel(closed fd, NULL)", aio_cancel(bad, NULL));
    SHOW_CANCEL("aio_cancel(-1, NULL)", aio_cancel(-1, NULL));
    SHOW_CANCEL("aio_cancel(closed fd, &c [fd])", aio_cancel(bad, &c));
    struct aiocb cb_bad;
    cb_init(&cb_bad, bad, b, 10, 0);
    SHOW_CANCEL("aio_cancel(closed fd, &cb_bad [closed fd])", aio_cancel(bad, &cb_bad));
    SHOW_CANCEL("aio_cancel(fd2, &c [fd])", aio_cancel(fd2, &c));
    SHOW_CANCEL("aio_cancel(fd, &c) after completion", aio_cancel(fd, &c));
    SHOW_CANCEL("aio_cancel(fd, NULL) nothing queued", aio_cancel(fd, NULL));
    SHOW_CANCEL("aio_cancel(fd2, NULL) never used", aio_cancel(fd2, NULL));
    show_cb("c after cancels", &c);
    struct aiocb never;
    cb_init(&never, fd, b, 10, 0);
    SHOW_CANCEL("aio_cancel(fd, never submitted)", aio_cancel(fd, &never));
    SHOW_CANCEL("aio_cancel(0 [stdin], NULL)", aio_cancel(0, NULL));
    /* a failed request is done too */
    struct aiocb f;
    cb_init(&f, fd, b, 10, -1);
    CHECK(aio_read(&f) == 0);
    printf("failed request: %s\n", en(wait_done(&f, LONG_MS)));
    SHOW_CANCEL("aio_cancel(fd, failed request)", aio_cancel(fd, &f));
    show_cb("f", &f);
    close(fd);
    close(fd2);
    return 0;
}
