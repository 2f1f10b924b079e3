/* aiocbs that were never submitted, with whatever the program left in the
 * private fields: aio_error / aio_return just read them back; aio_cancel
 * of one that claims EINPROGRESS -> -1 EINVAL (not found), of one that does
 * not -> AIO_ALLDONE; aio_suspend on one that claims EINPROGRESS returns 0
 * at once (nothing to wait for).  Plus odd list notifications: an invalid
 * list signal number and an unknown sigev_notify are ignored. */
#include "common.h"

int main(void)
{
    int fd = make_file(4096);
    static char b[16];
    struct aiocb g;
    cb_init(&g, fd, b, 16, 0);
    g.__error_code = EINPROGRESS;
    g.__return_value = 77;
    printf("aio_error(unsubmitted, EINPROGRESS) = %s, aio_return = %zd\n", en(aio_error(&g)),
           aio_return(&g));
    SHOW_CANCEL("aio_cancel(fd, unsubmitted EINPROGRESS)", aio_cancel(fd, &g));
    const struct aiocb *l[] = { &g };
    struct timespec t = { 0, 200000000 };
    SHOW("aio_suspend(unsubmitted EINPROGRESS, 200 ms)", aio_suspend(l, 1, &t));
    g.__error_code = 12345;
    g.__return_value = -5;
    printf("aio_error(unsubmitted, 12345) = %d, aio_return = %zd\n", aio_error(&g), aio_return(&g));
    SHOW_CANCEL("aio_cancel(fd, unsubmitted 12345)", aio_cancel(fd, &g));
    SHOW("aio_suspend(unsubmitted 12345, 200 ms)", aio_suspend(l, 1, &t));

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 999;
    struct aiocb c;
    cb_init(&c, fd, b, 16, 0);
    c.aio_lio_opcode = LIO_READ;
    struct aiocb *ll[] = { &c };
    SHOW("lio_listio(LIO_NOWAIT, list signo 999)", lio_listio(LIO_NOWAIT, ll, 1, &sev));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  c", &c);
    SHOW("lio_listio(LIO_NOWAIT, nent 0, list signo 999)", lio_listio(LIO_NOWAIT, ll, 0, &sev));
    sev.sigev_notify = 77;
    SHOW("lio_listio(LIO_NOWAIT, list sigev_notify 77)", lio_listio(LIO_NOWAIT, ll, 1, &sev));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  c", &c);
    close(fd);
    return 0;
}
