/* lio_listio(LIO_WAIT) with per-request SIGEV_SIGNAL: every request sends
 * its own signal (sent before the request counts as done, so all are
 * pending when LIO_WAIT returns); the list sigevent is not used. */
#include "common.h"

#define N 6

static int cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_file(65536);
    static char b[N][512];
    struct aiocb c[N];
    struct aiocb *list[N];
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, b[i], 512, (off_t)i * 512);
        c[i].aio_lio_opcode = LIO_READ;
        cb_signal(&c[i], SIG, 10 + i);
        list[i] = &c[i];
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 99;
    SHOW("lio_listio(LIO_WAIT, per-request signals, list signal)", lio_listio(LIO_WAIT, list, N, &sev));
    int vals[32], n = 0;
    siginfo_t si;
    while (n < 32 && wait_signal(SIG, 200, &si) == SIG)
        vals[n++] = si.si_value.sival_int;
    qsort(vals, n, sizeof(int), cmp);
    printf("signals = %d, values:", n);
    for (int i = 0; i < n; i++)
        printf(" %d", vals[i]);
    printf("\n");
    for (int i = 0; i < N; i++) {
        char l[16];
        snprintf(l, sizeof l, "c%d", i);
        show_cb(l, &c[i]);
    }
    close(fd);
    return 0;
}
