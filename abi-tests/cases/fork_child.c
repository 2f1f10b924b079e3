// EXPECT-FILE
/* fork with a request in flight.  The parent has a read pending on one end
 * of a socketpair and forks.  The child submits a write on that same
 * socket: with a clean AIO state in the child it completes at once; glibc
 * copies its request table into the child, so there the write queues behind
 * a request no thread will ever run, and hangs (bounded here: the child
 * waits 3 s, and alarm() backs that up).  The parent's pending read and new
 * requests still complete.  Expected output: the correct (shim) behaviour. */
#include "common.h"

int main(void)
{
    int s[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
    static char rb[8];
    struct aiocb r;
    cb_init(&r, s[0], rb, 1, 0);
    SHOW("parent: aio_read(sock) before fork", aio_read(&r));
    sleep_ms(100);
    printf("parent: read in progress = %d\n", aio_error(&r) == EINPROGRESS);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(20);
        static char wb[4] = "ping";
        struct aiocb w;
        cb_init(&w, s[0], wb, 4, 0);
        SHOW("child: aio_write(same sock)", aio_write(&w));
        int e = wait_done(&w, 3000);
        printf("child: write %s\n", e == EINPROGRESS ? "still in progress after 3 s" : "done");
        if (e != EINPROGRESS)
            show_cb("child: write", &w);
        /* a request on a fresh fd in the child */
        int fd = make_file(4096);
        static char fb[100];
        struct aiocb f;
        cb_init(&f, fd, fb, 100, 0);
        SHOW("child: aio_read(new file)", aio_read(&f));
        e = wait_done(&f, 3000);
        printf("child: file read %s\n", e == EINPROGRESS ? "still in progress after 3 s" : "done");
        if (e != EINPROGRESS)
            show_cb("child: file read", &f);
        fflush(stdout);
        exit(0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("parent: child exited normally = %d status = %d\n", WIFEXITED(st),
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    char peer[8] = { 0 };
    ssize_t n = recv(s[1], peer, sizeof peer - 1, MSG_DONTWAIT);
    printf("parent: peer received \"%s\"\n", n > 0 ? peer : "");
    printf("parent: read still in progress = %d\n", aio_error(&r) == EINPROGRESS);
    CHECK(write(s[1], "x", 1) == 1);
    printf("parent: read wait=%s\n", en(wait_done(&r, LONG_MS)));
    show_cb("parent: read", &r);
    printf("parent: data=%.1s\n", rb);
    int fd = make_file(4096);
    static char fb[100];
    struct aiocb f;
    cb_init(&f, fd, fb, 100, 0);
    SHOW("parent: aio_read(new file)", aio_read(&f));
    printf("parent: wait=%s\n", en(wait_done(&f, LONG_MS)));
    show_cb("parent: file read", &f);
    return 0;
}
