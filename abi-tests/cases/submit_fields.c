/* Fields written into the aiocb at submit time, observed on requests that
 * cannot complete (reads on an empty pipe): __error_code (via aio_error)
 * becomes EINPROGRESS and aio_lio_opcode becomes the operation; garbage left
 * there before submit is overwritten.  Also aio_error/aio_return of a
 * never-submitted aiocb.  (aio_return of a request in progress is not
 * printed: glibc's helper stores pread's -1/ESPIPE there before falling back
 * to read() on a pipe, so it is 0 or -1 depending on timing.) */
#include "common.h"

int main(void)
{
    struct aiocb z;
    memset(&z, 0, sizeof z);
    printf("never submitted, zeroed: aio_error=%s aio_return=%zd\n",
           en(aio_error(&z)), aio_return(&z));

    int p[2];
    CHECK(pipe(p) == 0);
    static char b1[8], b2[8], b3[8];
    struct aiocb c1, c2, c3;
    cb_init(&c1, p[0], b1, sizeof b1, 0);
    cb_init(&c2, p[0], b2, sizeof b2, 0);
    cb_init(&c3, p[0], b3, sizeof b3, 0);
    c1.__error_code = 12345;
    c1.__return_value = 777;
    c1.aio_lio_opcode = 9;
    c2.__error_code = EIO;
    c2.__return_value = -1;
    c2.aio_lio_opcode = LIO_WRITE;
    c3.aio_lio_opcode = LIO_NOP;

    SHOW("aio_read(c1) on empty pipe", aio_read(&c1));
    printf("c1: aio_error=%s opcode=%d\n", en(aio_error(&c1)), c1.aio_lio_opcode);
    SHOW("aio_read(c2) on empty pipe", aio_read(&c2));
    printf("c2: aio_error=%s opcode=%d\n", en(aio_error(&c2)), c2.aio_lio_opcode);

    /* a third read, submitted with LIO_NOP left in aio_lio_opcode */
    SHOW("aio_read(c3) on empty pipe", aio_read(&c3));
    printf("c3: aio_error=%s opcode=%d\n", en(aio_error(&c3)), c3.aio_lio_opcode);
    printf("aio_error(c1) twice = %s\n", en(aio_error(&c1)));

    /* the user fields are left alone */
    printf("c1 fields kept: fildes=%d nbytes=%zu offset=%lld buf_same=%d reqprio=%d notify=%d\n",
           c1.aio_fildes == p[0], c1.aio_nbytes, (long long)c1.aio_offset,
           c1.aio_buf == b1, c1.aio_reqprio, c1.aio_sigevent.sigev_notify);

    CHECK(write(p[1], "aaaaaaaabbbbbbbbcccccccc", 24) == 24);
    struct aiocb *l[] = { &c1, &c2, &c3 };
    printf("in progress after wait: %d\n", wait_all(l, 3, LONG_MS));
    show_cb("c1", &c1);
    show_cb("c2", &c2);
    show_cb("c3", &c3);
    printf("data: %.8s %.8s %.8s\n", b1, b2, b3);
    printf("opcodes after completion: %d %d %d\n", c1.aio_lio_opcode,
           c2.aio_lio_opcode, c3.aio_lio_opcode);
    return 0;
}
