/* lio_batch.c - one lio_listio(LIO_WAIT) of 16 O_DIRECT 4 KiB reads of
 * FILE, every other one with aio_reqprio 1.  Prints "lio=RC ok=N" (N
 * requests returned 4096).  Used under strace by real_clients.sh: the shim
 * must submit the list in one io_submit, with IOCB_FLAG_IOPRIO on the
 * aio_reqprio ones.  Usage: lio_batch FILE (at least 128 KiB). */
#define _GNU_SOURCE 1
#include <aio.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int fd = open(argv[1], O_RDONLY | O_DIRECT);
    void *b;
    if (fd < 0 || posix_memalign(&b, 4096, 16 * 4096))
        return 1;
    struct aiocb cb[16], *l[16];
    for (int i = 0; i < 16; i++) {
        memset(&cb[i], 0, sizeof cb[i]);
        cb[i].aio_fildes = fd;
        cb[i].aio_buf = (char *)b + i * 4096;
        cb[i].aio_nbytes = 4096;
        cb[i].aio_offset = i * 8192;
        cb[i].aio_lio_opcode = LIO_READ;
        cb[i].aio_reqprio = i % 2;
        l[i] = &cb[i];
    }
    int r = lio_listio(LIO_WAIT, l, 16, NULL), ok = 0;
    for (int i = 0; i < 16; i++)
        ok += aio_return(&cb[i]) == 4096;
    printf("lio=%d ok=%d\n", r, ok);
    return r != 0 || ok != 16;
}
