/* aio_read on a regular file: submit return, aio_lio_opcode written at
 * submit (LIO_READ = 0), results, data, aio_return is idempotent. */
#include "common.h"

int main(void)
{
    int fd = make_file(100000);
    static char b1[4096], b2[10000], b3[1];
    struct aiocb c1, c2, c3;
    cb_init(&c1, fd, b1, sizeof b1, 0);
    cb_init(&c2, fd, b2, sizeof b2, 12345);
    cb_init(&c3, fd, b3, sizeof b3, 99999);
    c1.aio_lio_opcode = 7; /* garbage: submit must overwrite it */
    c2.aio_lio_opcode = LIO_WRITE;
    c3.aio_lio_opcode = LIO_NOP;

    SHOW("aio_read(c1)", aio_read(&c1));
    printf("c1.aio_lio_opcode after submit = %d\n", c1.aio_lio_opcode);
    SHOW("aio_read(c2)", aio_read(&c2));
    printf("c2.aio_lio_opcode after submit = %d\n", c2.aio_lio_opcode);
    SHOW("aio_read(c3)", aio_read(&c3));
    printf("c3.aio_lio_opcode after submit = %d\n", c3.aio_lio_opcode);

    struct aiocb *l[] = { &c1, &c2, &c3 };
    printf("still in progress after wait: %d\n", wait_all(l, 3, LONG_MS));
    show_cb("c1", &c1);
    show_cb("c2", &c2);
    show_cb("c3", &c3);
    printf("aio_return(c1) again = %zd\n", aio_return(&c1));
    printf("aio_error(c1) again = %s\n", en(aio_error(&c1)));
    printf("c1 data ok = %d\n", check_pat(b1, sizeof b1, 0));
    printf("c2 data ok = %d\n", check_pat(b2, sizeof b2, 12345));
    printf("c3 data ok = %d\n", check_pat(b3, sizeof b3, 99999));
    printf("c1.aio_lio_opcode after completion = %d\n", c1.aio_lio_opcode);
    printf("file offset unchanged = %d\n", lseek(fd, 0, SEEK_CUR) == 0);
    close(fd);
    return 0;
}
