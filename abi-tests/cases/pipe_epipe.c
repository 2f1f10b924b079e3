/* aio_write on a pipe whose read end is closed: EPIPE through aio_error,
 * and the process is not killed by SIGPIPE (the write happens on a thread
 * that blocks signals; nothing is left pending for the process). */
#include "common.h"

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    static char b[16] = "data";
    struct aiocb c;
    cb_init(&c, p[1], b, 4, 0);
    SHOW("aio_write(pipe without reader)", aio_write(&c));
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    sleep_ms(50);
    sigset_t pend;
    sigpending(&pend);
    printf("SIGPIPE pending for the main thread/process = %d\n", sigismember(&pend, SIGPIPE));
    int s[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
    close(s[1]);
    cb_init(&c, s[0], b, 4, 0);
    SHOW("aio_write(socket without peer)", aio_write(&c));
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    cb_init(&c, s[0], b, 4, 0);
    SHOW("aio_read(socket without peer)", aio_read(&c));
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    sleep_ms(50);
    sigpending(&pend);
    printf("SIGPIPE pending = %d\n", sigismember(&pend, SIGPIPE));
    printf("still alive\n");
    return 0;
}
