/* lio_listio on an O_DIRECT file: LIO_WAIT and LIO_NOWAIT (with a list
 * signal), mixed reads and writes. */
// EXPECT-STAT kaio>0
#include "common.h"

#define N 32

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_direct_file(N * 4096);
    char *b[N];
    struct aiocb c[N];
    struct aiocb *l[N];
    for (int i = 0; i < N; i++) {
        b[i] = aligned_buf(4096);
        cb_init(&c[i], fd, b[i], 4096, (off_t)i * 4096);
        if (i % 2) {
            c[i].aio_lio_opcode = LIO_WRITE;
            fill_pat(b[i], 4096, (off_t)i * 4096 + 7);
        } else
            c[i].aio_lio_opcode = LIO_READ;
        l[i] = &c[i];
    }
    SHOW("lio_listio(LIO_WAIT, O_DIRECT)", lio_listio(LIO_WAIT, l, N, NULL));
    int ok = 1, inprog = 0;
    for (int i = 0; i < N; i++) {
        inprog += aio_error(&c[i]) == EINPROGRESS;
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 4096;
        if (!(i % 2))
            ok &= check_pat(b[i], 4096, (off_t)i * 4096);
    }
    printf("in progress after return = %d, all ok = %d\n", inprog, ok);
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, b[i], 4096, (off_t)i * 4096);
        c[i].aio_lio_opcode = LIO_READ;
        memset(b[i], 0, 4096);
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 77;
    SHOW("lio_listio(LIO_NOWAIT, O_DIRECT, list signal)", lio_listio(LIO_NOWAIT, l, N, &sev));
    siginfo_t si;
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("list signal = %d value=%d all done then=%d\n", got == SIG,
           got ? si.si_value.sival_int : -1, wait_array(c, N, 0) == 0);
    printf("extra = %d\n", drain_signal(SIG, 100));
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_return(&c[i]) == 4096 && check_pat(b[i], 4096, (off_t)i * 4096 + (i % 2 ? 7 : 0));
    printf("read back ok = %d\n", ok);
    close(fd);
    return 0;
}
