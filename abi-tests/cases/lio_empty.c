/* lio_listio with nothing to do: nent 0, all NULL, all LIO_NOP.  LIO_WAIT
 * returns 0 at once; LIO_NOWAIT returns 0 and still sends the list
 * notification (exactly once). */
#include "common.h"

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 55;
    struct aiocb nop1, nop2;
    static char b[16];
    cb_init(&nop1, 0, b, 16, 0);
    cb_init(&nop2, 0, b, 16, 0);
    nop1.aio_lio_opcode = LIO_NOP;
    nop2.aio_lio_opcode = LIO_NOP;
    struct aiocb *nulls[3] = { NULL, NULL, NULL };
    struct aiocb *nops[3] = { &nop1, NULL, &nop2 };
    struct aiocb *dummy[1] = { NULL };
    siginfo_t si;

    SHOW("lio_listio(LIO_WAIT, nent 0)", lio_listio(LIO_WAIT, dummy, 0, &sev));
    printf("  signals = %d\n", drain_signal(SIG, 50));
    SHOW("lio_listio(LIO_NOWAIT, nent 0, signal)", lio_listio(LIO_NOWAIT, dummy, 0, &sev));
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("  list signal = %d value=%d code_ok=%d\n", got == SIG, got ? si.si_value.sival_int : -1,
           got && si.si_code == SI_ASYNCIO);
    printf("  extra = %d\n", drain_signal(SIG, 50));
    SHOW("lio_listio(LIO_WAIT, 3 NULL)", lio_listio(LIO_WAIT, nulls, 3, &sev));
    printf("  signals = %d\n", drain_signal(SIG, 50));
    SHOW("lio_listio(LIO_NOWAIT, 3 NULL, signal)", lio_listio(LIO_NOWAIT, nulls, 3, &sev));
    printf("  signals = %d\n", drain_signal(SIG, 100));
    SHOW("lio_listio(LIO_WAIT, NOPs)", lio_listio(LIO_WAIT, nops, 3, NULL));
    SHOW("lio_listio(LIO_NOWAIT, NOPs, signal)", lio_listio(LIO_NOWAIT, nops, 3, &sev));
    printf("  signals = %d\n", drain_signal(SIG, 100));
    SHOW("lio_listio(LIO_NOWAIT, NOPs, NULL sigevent)", lio_listio(LIO_NOWAIT, nops, 3, NULL));
    printf("  signals = %d\n", drain_signal(SIG, 50));
    printf("NOP aiocbs untouched: %d %d opcode=%d\n", nop1.__error_code, (int)nop1.__return_value,
           nop1.aio_lio_opcode);
    SHOW("lio_listio(5, nent 0)", lio_listio(5, dummy, 0, NULL));
    return 0;
}
