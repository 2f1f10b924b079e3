/* lio_listio(LIO_NOWAIT) with a list signal and per-request signals: one
 * signal per request plus exactly one list signal, sent after every request
 * is done. */
#include "common.h"

#define N 8

static int cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_file(1 << 20);
    static char b[N][4096];
    struct aiocb c[N];
    struct aiocb *list[N + 2];
    int n = 0;
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, b[i], 4096, (off_t)i * 8192);
        c[i].aio_lio_opcode = i % 3 == 2 ? LIO_WRITE : LIO_READ;
        if (c[i].aio_lio_opcode == LIO_WRITE)
            fill_pat(b[i], 4096, (off_t)i * 8192);
        cb_signal(&c[i], SIG, i + 1);
        list[n++] = &c[i];
        if (i == 3)
            list[n++] = NULL;
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 1000;
    SHOW("lio_listio(LIO_NOWAIT, list signal)", lio_listio(LIO_NOWAIT, list, n, &sev));
    int vals[32], got = 0, list_pos = -1, all_done_at_list = 0;
    siginfo_t si;
    while (got < N + 1 && wait_signal(SIG, LONG_MS, &si) == SIG) {
        vals[got] = si.si_value.sival_int;
        if (vals[got] == 1000) {
            list_pos = got;
            all_done_at_list = wait_array(c, N, 0) == 0;
        }
        got++;
    }
    int extra = drain_signal(SIG, 100);
    printf("signals = %d (+%d extra)\n", got, extra);
    printf("list signal received last = %d\n", list_pos == N);
    printf("all requests done when list signal received = %d\n", all_done_at_list);
    qsort(vals, got, sizeof(int), cmp);
    printf("values:");
    for (int i = 0; i < got; i++)
        printf(" %d", vals[i]);
    printf("\n");
    printf("remaining after wait = %d\n", wait_array(c, N, LONG_MS));
    for (int i = 0; i < N; i++) {
        char l[16];
        snprintf(l, sizeof l, "c%d", i);
        show_cb(l, &c[i]);
    }
    /* no list sigevent at all (NULL) */
    for (int i = 0; i < N; i++)
        c[i].aio_sigevent.sigev_notify = SIGEV_NONE;
    SHOW("lio_listio(LIO_NOWAIT, NULL sigevent)", lio_listio(LIO_NOWAIT, list, n, NULL));
    printf("remaining after wait = %d\n", wait_array(c, N, LONG_MS));
    printf("signals = %d\n", drain_signal(SIG, 100));
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 4096 &&
              check_pat(b[i], 4096, (off_t)i * 8192);
    printf("all ok = %d\n", ok);
    close(fd);
    return 0;
}
