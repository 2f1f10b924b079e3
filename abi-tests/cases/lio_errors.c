/* lio_listio errors: bad mode -> -1 EINVAL with nothing submitted;
 * LIO_WAIT with a failing request -> -1 EIO after all are done; a request
 * with a bad aio_reqprio inside the list; an unknown opcode. */
#include "common.h"

int main(void)
{
    int fd = make_file(65536);
    static char b[4][1024];
    struct aiocb c[4];
    struct aiocb *list[4];
    for (int i = 0; i < 4; i++) {
        cb_init(&c[i], fd, b[i], 1024, (off_t)i * 1024);
        c[i].aio_lio_opcode = LIO_READ;
        list[i] = &c[i];
    }
    int modes[] = { 2, -1, 128, 129, 1000 };
    for (int k = 0; k < 5; k++) {
        char l[64];
        snprintf(l, sizeof l, "lio_listio(mode %d)", modes[k]);
        SHOW(l, lio_listio(modes[k], list, 4, NULL));
    }
    printf("untouched: aio_error(c0)=%s opcode=%d\n", en(aio_error(&c[0])), c[0].aio_lio_opcode);

    /* LIO_WAIT with one bad fd */
    c[2].aio_fildes = closed_fd();
    SHOW("lio_listio(LIO_WAIT, one bad fd)", lio_listio(LIO_WAIT, list, 4, NULL));
    for (int i = 0; i < 4; i++) {
        char l[16];
        snprintf(l, sizeof l, "c%d", i);
        show_cb(l, &c[i]);
    }
    /* LIO_WAIT with a negative offset */
    c[2].aio_fildes = fd;
    c[1].aio_offset = -1;
    SHOW("lio_listio(LIO_WAIT, one negative offset)", lio_listio(LIO_WAIT, list, 4, NULL));
    show_cb("c1", &c[1]);
    show_cb("c2", &c[2]);
    c[1].aio_offset = 1024;

    /* LIO_WAIT, short read is not a failure */
    c[3].aio_offset = 65536 - 10;
    SHOW("lio_listio(LIO_WAIT, short read at EOF)", lio_listio(LIO_WAIT, list, 4, NULL));
    show_cb("c3", &c[3]);
    c[3].aio_offset = 3072;

    /* bad reqprio in the list */
    c[1].aio_reqprio = 21;
    SHOW("lio_listio(LIO_WAIT, one bad reqprio)", lio_listio(LIO_WAIT, list, 4, NULL));
    for (int i = 0; i < 4; i++) {
        char l[16];
        snprintf(l, sizeof l, "c%d", i);
        show_cb(l, &c[i]);
    }
    SHOW("lio_listio(LIO_NOWAIT, one bad reqprio)", lio_listio(LIO_NOWAIT, list, 4, NULL));
    printf("remaining after wait = %d\n", wait_all(list, 4, LONG_MS));
    for (int i = 0; i < 4; i++) {
        char l[16];
        snprintf(l, sizeof l, "c%d", i);
        show_cb(l, &c[i]);
    }
    struct aiocb *only[] = { &c[1] };
    SHOW("lio_listio(LIO_WAIT, only a bad reqprio)", lio_listio(LIO_WAIT, only, 1, NULL));
    show_cb("c1", &c[1]);
    SHOW("lio_listio(LIO_NOWAIT, only a bad reqprio)", lio_listio(LIO_NOWAIT, only, 1, NULL));
    show_cb("c1", &c[1]);
    c[1].aio_reqprio = 0;

    /* unknown opcode */
    c[2].aio_lio_opcode = 7;
    SHOW("lio_listio(LIO_WAIT, opcode 7)", lio_listio(LIO_WAIT, list, 4, NULL));
    for (int i = 0; i < 4; i++) {
        char l[32];
        snprintf(l, sizeof l, "c%d opcode=%d", i, c[i].aio_lio_opcode);
        show_cb(l, &c[i]);
    }
    close(fd);
    return 0;
}
