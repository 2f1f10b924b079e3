/* lio_listio(LIO_WAIT): every request is done on return; NULL entries and
 * LIO_NOP entries are skipped (a NOP aiocb is left untouched); mixed reads
 * and writes; opcodes stay as given. */
#include "common.h"

int main(void)
{
    int fd = make_file(1 << 20);
    int fd2 = make_file(0);
    static char rb[6][4096], wb[4][4096];
    struct aiocb r[6], w[4], nop;
    struct aiocb *list[16];
    int n = 0;
    for (int i = 0; i < 6; i++) {
        cb_init(&r[i], fd, rb[i], 4096, (off_t)i * 100000);
        r[i].aio_lio_opcode = LIO_READ;
    }
    for (int i = 0; i < 4; i++) {
        fill_pat(wb[i], 4096, (off_t)i * 4096);
        cb_init(&w[i], fd2, wb[i], 4096, (off_t)i * 4096);
        w[i].aio_lio_opcode = LIO_WRITE;
    }
    cb_init(&nop, fd, rb[0], 4096, 0);
    nop.aio_lio_opcode = LIO_NOP;
    nop.__error_code = 4321; /* must stay untouched */
    nop.__return_value = 99;
    list[n++] = &r[0];
    list[n++] = NULL;
    list[n++] = &w[0];
    list[n++] = &r[1];
    list[n++] = &nop;
    list[n++] = &w[1];
    list[n++] = &r[2];
    list[n++] = NULL;
    list[n++] = &r[3];
    list[n++] = &w[2];
    list[n++] = &r[4];
    list[n++] = &w[3];
    list[n++] = &r[5];
    SHOW("lio_listio(LIO_WAIT, 13 entries)", lio_listio(LIO_WAIT, list, n, NULL));
    int inprog = 0;
    for (int i = 0; i < n; i++)
        if (list[i] && list[i] != &nop && aio_error(list[i]) == EINPROGRESS)
            inprog++;
    printf("in progress right after return = %d\n", inprog);
    for (int i = 0; i < n; i++) {
        char l[32];
        snprintf(l, sizeof l, "entry %d", i);
        if (!list[i])
            printf("%s: NULL\n", l);
        else if (list[i] == &nop)
            printf("%s: NOP untouched: error_code=%d return_value=%zd opcode=%d\n", l,
                   nop.__error_code, nop.__return_value, nop.aio_lio_opcode);
        else {
            printf("%s: opcode=%d ", l, list[i]->aio_lio_opcode);
            show_cb("", list[i]);
        }
    }
    int ok = 1;
    for (int i = 0; i < 6; i++)
        ok &= check_pat(rb[i], 4096, (off_t)i * 100000);
    printf("read data ok = %d\n", ok);
    static char back[16384];
    CHECK(pread(fd2, back, sizeof back, 0) == sizeof back);
    printf("written data ok = %d\n", check_pat(back, sizeof back, 0));
    /* a list with a sigevent: LIO_WAIT sends no list notification */
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIG;
    sev.sigev_value.sival_int = 1;
    struct aiocb *l2[] = { &r[0], &r[1] };
    r[0].aio_sigevent.sigev_notify = SIGEV_NONE;
    SHOW("lio_listio(LIO_WAIT, list sigevent)", lio_listio(LIO_WAIT, l2, 2, &sev));
    printf("list signals for LIO_WAIT = %d\n", drain_signal(SIG, 100));
    show_cb("r0", &r[0]);
    show_cb("r1", &r[1]);
    close(fd);
    close(fd2);
    return 0;
}
