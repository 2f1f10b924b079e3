/* aio_suspend: an already complete request -> 0 at once; all-NULL list ->
 * 0; nent 0 -> 0; negative nent -> -1 EINVAL; NULL entries are skipped; a
 * request completed later by another thread wakes the caller (0). */
#include "common.h"

static int wfd;

static void *writer(void *arg)
{
    (void)arg;
    sleep_ms(100);
    CHECK(write(wfd, "wxyz", 4) == 4);
    return NULL;
}

int main(void)
{
    int fd = make_file(8192);
    static char b[4096];
    struct aiocb done;
    cb_init(&done, fd, b, 4096, 0);
    CHECK(aio_read(&done) == 0);
    CHECK(wait_done(&done, LONG_MS) == 0);
    struct timespec t10 = { 10, 0 };
    const struct aiocb *l1[] = { &done };
    SHOW("aio_suspend([done], 1, NULL)", aio_suspend(l1, 1, NULL));
    SHOW("aio_suspend([done], 1, 10s)", aio_suspend(l1, 1, &t10));
    const struct aiocb *nulls[] = { NULL, NULL, NULL };
    SHOW("aio_suspend([NULL x3], 3, NULL)", aio_suspend(nulls, 3, NULL));
    SHOW("aio_suspend([NULL x3], 3, 10s)", aio_suspend(nulls, 3, &t10));
    SHOW("aio_suspend(list, 0, NULL)", aio_suspend(l1, 0, NULL));
    SHOW("aio_suspend(list, -1, NULL)", aio_suspend(l1, -1, NULL));
    SHOW("aio_suspend(list, -100, 10s)", aio_suspend(l1, -100, &t10));

    /* a pending pipe read next to a finished request */
    int p[2];
    CHECK(pipe(p) == 0);
    wfd = p[1];
    static char pb[4];
    struct aiocb pend;
    cb_init(&pend, p[0], pb, 4, 0);
    CHECK(aio_read(&pend) == 0);
    const struct aiocb *mix[] = { NULL, &pend, NULL, &done };
    SHOW("aio_suspend([NULL, pending, NULL, done], 4, 10s)", aio_suspend(mix, 4, &t10));
    printf("pending still in progress = %d\n", aio_error(&pend) == EINPROGRESS);

    /* woken by a completion */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
    const struct aiocb *l2[] = { NULL, &pend };
    int r;
    do {
        r = aio_suspend(l2, 2, &t10);
    } while (r == -1 && errno == EINTR);
    printf("aio_suspend([NULL, pending], 2, 10s) with completion by another thread = %d\n", r);
    pthread_join(t, NULL);
    show_cb("pend", &pend);
    printf("data %.4s\n", pb);
    SHOW("aio_suspend([NULL, now done], 2, NULL)", aio_suspend(l2, 2, NULL));

    /* several pending, one completes */
    struct aiocb q[3];
    static char qb[3][2];
    for (int i = 0; i < 3; i++) {
        cb_init(&q[i], p[0], qb[i], 2, 0);
        CHECK(aio_read(&q[i]) == 0);
    }
    const struct aiocb *l3[] = { &q[0], &q[1], &q[2] };
    CHECK(write(p[1], "ab", 2) == 2);
    do {
        r = aio_suspend(l3, 3, &t10);
    } while (r == -1 && errno == EINTR);
    printf("aio_suspend(3 pending, first gets data) = %d\n", r);
    printf("q0 done = %d\n", wait_done(&q[0], LONG_MS) == 0);
    printf("q1 q2 in progress = %d %d\n", aio_error(&q[1]) == EINPROGRESS,
           aio_error(&q[2]) == EINPROGRESS);
    CHECK(write(p[1], "cdef", 4) == 4);
    printf("remaining after wait = %d\n", wait_array(q, 3, LONG_MS));
    printf("data %.2s %.2s %.2s\n", qb[0], qb[1], qb[2]);
    close(fd);
    return 0;
}
