// EXPECT-FILE
/* fork right after requests completed (no request in flight): the child's
 * requests must work.  glibc keeps the count of its idle helper threads in
 * the child, where those threads do not exist: a child forked within
 * aio_idle_time (1 s) of the last completion queues its request for a
 * thread that will never come and hangs (bounded here: 3 s).  Expected
 * output: the correct behaviour. */
#include "common.h"

int main(void)
{
    int fd = make_file(1 << 16);
    static char b[4][512];
    struct aiocb c[4];
    for (int i = 0; i < 4; i++) {
        cb_init(&c[i], fd, b[i], 512, i * 512);
        CHECK(aio_read(&c[i]) == 0);
    }
    printf("parent: remaining = %d\n", wait_array(c, 4, LONG_MS));
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(20);
        struct aiocb x;
        static char xb[512];
        cb_init(&x, fd, xb, 512, 4096);
        SHOW("child: aio_read", aio_read(&x));
        int e = wait_done(&x, 3000);
        printf("child: read %s\n", e == EINPROGRESS ? "still in progress after 3 s" : "done");
        if (e != EINPROGRESS) {
            show_cb("child: read", &x);
            printf("child: data ok = %d\n", check_pat(xb, 512, 4096));
        }
        int p[2];
        CHECK(pipe(p) == 0);
        CHECK(write(p[1], "kid", 3) == 3);
        cb_init(&x, p[0], xb, 3, 0);
        SHOW("child: aio_read(pipe)", aio_read(&x));
        e = wait_done(&x, 3000);
        printf("child: pipe read %s\n", e == EINPROGRESS ? "still in progress after 3 s" : "done");
        fflush(stdout);
        exit(0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    printf("parent: child exit status = %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    struct aiocb y;
    static char yb[512];
    cb_init(&y, fd, yb, 512, 8192);
    SHOW("parent: aio_read", aio_read(&y));
    printf("parent: wait=%s\n", en(wait_done(&y, LONG_MS)));
    show_cb("parent: read", &y);
    return 0;
}
