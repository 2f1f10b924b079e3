/* Cancelled requests count as done for a LIO_NOWAIT list: after the queued
 * list members are cancelled the list notification arrives. */
#include "common.h"

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[4][4];
    struct aiocb first, c[3];
    cb_init(&first, p[0], b[3], 4, 0);
    SHOW("aio_read(first) empty pipe", aio_read(&first));
    sleep_ms(100);
    struct aiocb *list[3];
    for (int i = 0; i < 3; i++) {
        cb_init(&c[i], p[0], b[i], 4, 0);
        c[i].aio_lio_opcode = LIO_READ;
        list[i] = &c[i];
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 321;
    SHOW("lio_listio(LIO_NOWAIT, 3 reads queued behind it)", lio_listio(LIO_NOWAIT, list, 3, &sev));
    printf("list signal before cancel = %d\n", drain_signal(SIG, 50));
    SHOW_CANCEL("aio_cancel(p0, c0)", aio_cancel(p[0], &c[0]));
    printf("list signal after one cancel = %d\n", drain_signal(SIG, 50));
    SHOW_CANCEL("aio_cancel(p0, NULL)", aio_cancel(p[0], NULL));
    siginfo_t si;
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("list signal = %d value=%d\n", got == SIG, got ? si.si_value.sival_int : -1);
    printf("extra = %d\n", drain_signal(SIG, 50));
    for (int i = 0; i < 3; i++) {
        char l[8];
        snprintf(l, sizeof l, "c%d", i);
        show_cb(l, &c[i]);
    }
    CHECK(write(p[1], "ffff", 4) == 4);
    printf("first wait=%s\n", en(wait_done(&first, LONG_MS)));
    show_cb("first", &first);
    return 0;
}
