/* aio_write on a regular file: opcode written at submit (LIO_WRITE = 1),
 * results, data on disk, file size, file offset untouched. */
#include "common.h"

int main(void)
{
    int fd = make_file(0);
    static char b1[4096], b2[5000], b3[3];
    fill_pat(b1, sizeof b1, 0);
    fill_pat(b2, sizeof b2, 20000);
    fill_pat(b3, sizeof b3, 4096);
    struct aiocb c1, c2, c3;
    cb_init(&c1, fd, b1, sizeof b1, 0);
    cb_init(&c2, fd, b2, sizeof b2, 20000);
    cb_init(&c3, fd, b3, sizeof b3, 4096);
    c1.aio_lio_opcode = LIO_READ;
    c2.aio_lio_opcode = 99;

    SHOW("aio_write(c1)", aio_write(&c1));
    printf("c1.aio_lio_opcode after submit = %d\n", c1.aio_lio_opcode);
    SHOW("aio_write(c2)", aio_write(&c2));
    printf("c2.aio_lio_opcode after submit = %d\n", c2.aio_lio_opcode);
    SHOW("aio_write(c3)", aio_write(&c3));

    struct aiocb *l[] = { &c1, &c2, &c3 };
    printf("still in progress after wait: %d\n", wait_all(l, 3, LONG_MS));
    show_cb("c1", &c1);
    show_cb("c2", &c2);
    show_cb("c3", &c3);
    printf("file size = %lld\n", (long long)file_size(fd));
    static char rb[25000];
    ssize_t n = pread(fd, rb, sizeof rb, 0);
    printf("pread = %zd\n", n);
    printf("[0,4099) ok = %d\n", check_pat(rb, 4099, 0));
    int hole = 1;
    for (int i = 4099; i < 20000; i++)
        if (rb[i] != 0)
            hole = 0;
    printf("hole zero = %d\n", hole);
    printf("[20000,25000) ok = %d\n", check_pat(rb + 20000, 5000, 20000));
    printf("file offset unchanged = %d\n", lseek(fd, 0, SEEK_CUR) == 0);
    close(fd);
    return 0;
}
