/* aio_fsync: O_SYNC / O_DSYNC after writes (opcode 4 / 3 written at submit),
 * bad op -> -1 EINVAL synchronously, bad fd -> -1 EBADF synchronously,
 * fsync of a pipe -> EINVAL via aio_error, read-only fd. */
#include "common.h"

int main(void)
{
    int fd = make_file(0);
    static char b[8][4096];
    struct aiocb w[8];
    for (int i = 0; i < 8; i++) {
        fill_pat(b[i], 4096, i * 4096);
        cb_init(&w[i], fd, b[i], 4096, i * 4096);
        CHECK(aio_write(&w[i]) == 0);
    }
    struct aiocb s1, s2;
    cb_init(&s1, fd, NULL, 0, 0);
    cb_init(&s2, fd, NULL, 0, 0);
    s1.aio_lio_opcode = 77;
    s2.aio_lio_opcode = 77;
    s1.aio_reqprio = 5; /* glibc zeroes the priority of a sync request */
    SHOW("aio_fsync(O_SYNC, s1)", aio_fsync(O_SYNC, &s1));
    printf("s1.aio_lio_opcode after submit = %d\n", s1.aio_lio_opcode);
    SHOW("aio_fsync(O_DSYNC, s2)", aio_fsync(O_DSYNC, &s2));
    printf("s2.aio_lio_opcode after submit = %d\n", s2.aio_lio_opcode);
    printf("writes in progress after wait: %d\n", wait_array(w, 8, LONG_MS));
    printf("s1 wait: %s\n", en(wait_done(&s1, LONG_MS)));
    printf("s2 wait: %s\n", en(wait_done(&s2, LONG_MS)));
    show_cb("s1", &s1);
    show_cb("s2", &s2);
    int ok = 1;
    for (int i = 0; i < 8; i++)
        if (aio_error(&w[i]) != 0 || aio_return(&w[i]) != 4096)
            ok = 0;
    printf("all writes ok = %d\n", ok);

    /* synchronous errors */
    struct aiocb bad;
    cb_init(&bad, fd, NULL, 0, 0);
    SHOW("aio_fsync(0, valid fd)", aio_fsync(0, &bad));
    SHOW("aio_fsync(O_RDWR, valid fd)", aio_fsync(O_RDWR, &bad));
    SHOW("aio_fsync(O_SYNC|O_DSYNC... O_APPEND, valid fd)", aio_fsync(O_APPEND, &bad));
    cb_init(&bad, closed_fd(), NULL, 0, 0);
    SHOW("aio_fsync(O_SYNC, closed fd)", aio_fsync(O_SYNC, &bad));
    SHOW("aio_fsync(O_DSYNC, closed fd)", aio_fsync(O_DSYNC, &bad));
    cb_init(&bad, -1, NULL, 0, 0);
    SHOW("aio_fsync(O_SYNC, fd -1)", aio_fsync(O_SYNC, &bad));
    SHOW("aio_fsync(12345 op, fd -1)", aio_fsync(12345, &bad));

    /* fsync of a pipe fails in the kernel: EINVAL via aio_error */
    int p[2];
    CHECK(pipe(p) == 0);
    struct aiocb sp;
    cb_init(&sp, p[1], NULL, 0, 0);
    SHOW("aio_fsync(O_SYNC, pipe)", aio_fsync(O_SYNC, &sp));
    printf("pipe fsync wait: %s\n", en(wait_done(&sp, LONG_MS)));
    show_cb("pipe fsync", &sp);

    /* fsync through a read-only descriptor */
    int ro = make_file_flags(100, O_RDONLY);
    CHECK(ro >= 0);
    struct aiocb sr;
    cb_init(&sr, ro, NULL, 0, 0);
    SHOW("aio_fsync(O_SYNC, read-only fd)", aio_fsync(O_SYNC, &sr));
    printf("read-only fsync wait: %s\n", en(wait_done(&sr, LONG_MS)));
    show_cb("read-only fsync", &sr);
    close(ro);
    close(fd);
    return 0;
}
