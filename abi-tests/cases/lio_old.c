// EXPECT-FILE
/* lio_listio@GLIBC_2.2.5 (programs linked before glibc 2.4): documented
 * semantics (glibc rt/lio_listio-common.c): no per-request events, only the
 * list event; LIO_WAIT waits.  glibc 2.34+ breaks this (LIO_WAIT returns at
 * once, per-request events are sent), so the expected output is committed
 * in expected/lio_old.out. */
#include "common.h"

#if defined(_FILE_OFFSET_BITS) && _FILE_OFFSET_BITS == 64
__asm__(".symver lio_listio_old, lio_listio64@GLIBC_2.2.5");
#else
__asm__(".symver lio_listio_old, lio_listio@GLIBC_2.2.5");
#endif
int lio_listio_old(int, struct aiocb *const[], int, struct sigevent *);

#define N 32

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_file(1 << 20);
    static char b[N][4096];
    static struct aiocb c[N];
    struct aiocb *list[N];
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, b[i], 4096, (off_t)i * 16384);
        c[i].aio_lio_opcode = LIO_READ;
        cb_signal(&c[i], SIG, i + 1);
        list[i] = &c[i];
    }
    /* LIO_WAIT */
    SHOW("old lio_listio(LIO_WAIT, per-request SIGEV_SIGNAL)", lio_listio_old(LIO_WAIT, list, N, NULL));
    int inprog = 0;
    for (int i = 0; i < N; i++)
        if (aio_error(&c[i]) == EINPROGRESS)
            inprog++;
    printf("in progress right after return = %d\n", inprog);
    printf("remaining after wait = %d\n", wait_array(c, N, LONG_MS));
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 4096 &&
              check_pat(b[i], 4096, (off_t)i * 16384);
    printf("all ok = %d\n", ok);
    sleep_ms(100);
    printf("per-request signals = %d\n", drain_signal(SIG, 100));

    /* LIO_NOWAIT with a list signal */
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, b[i], 4096, (off_t)i * 16384);
        c[i].aio_lio_opcode = LIO_READ;
        cb_signal(&c[i], SIG, i + 1);
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 999;
    SHOW("old lio_listio(LIO_NOWAIT, list signal)", lio_listio_old(LIO_NOWAIT, list, N, &sev));
    siginfo_t si;
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("first signal value = %d\n", got ? si.si_value.sival_int : -1);
    printf("all done at first signal = %d\n", wait_array(c, N, 0) == 0);
    printf("remaining after wait = %d\n", wait_array(c, N, LONG_MS));
    sleep_ms(100);
    printf("further signals = %d\n", drain_signal(SIG, 100));
    SHOW("old lio_listio(2, ...)", lio_listio_old(2, list, N, &sev));
    close(fd);
    return 0;
}
