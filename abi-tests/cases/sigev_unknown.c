/* An unknown sigev_notify value is ignored (no signal, no error), and so is
 * SIGEV_NONE even with a signal number set. */
#include "common.h"

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_file(4096);
    static char buf[64];
    int kinds[] = { SIGEV_NONE, 99, 3, -1, 12345 };
    for (int k = 0; k < 5; k++) {
        struct aiocb cb;
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_sigevent.sigev_notify = kinds[k];
        cb.aio_sigevent.sigev_signo = SIG;
        cb.aio_sigevent.sigev_value.sival_int = k;
        printf("sigev_notify = %d\n", kinds[k]);
        SHOW("  aio_read", aio_read(&cb));
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  read", &cb);
        cb_init(&cb, fd, buf, sizeof buf, 100);
        cb.aio_sigevent.sigev_notify = kinds[k];
        cb.aio_sigevent.sigev_signo = SIG;
        SHOW("  aio_write", aio_write(&cb));
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  write", &cb);
        printf("  signals = %d\n", drain_signal(SIG, 50));
    }
    close(fd);
    return 0;
}
