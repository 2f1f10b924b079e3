/* O_DIRECT reads (aligned buffers, offsets, lengths): results, data,
 * a read that ends past EOF (short), a read at EOF (0). */
// EXPECT-STAT kaio>0
#include "common.h"

#define FSZ (1u << 20)

int main(void)
{
    int fd = make_direct_file(FSZ + 8192 + 1000);
    char *b[8];
    struct aiocb c[8];
    for (int i = 0; i < 8; i++) {
        b[i] = aligned_buf(65536);
        cb_init(&c[i], fd, b[i], (size_t)4096 << (i % 4), (off_t)i * 131072);
        c[i].aio_lio_opcode = 9;
        SHOW("aio_read(O_DIRECT)", aio_read(&c[i]));
        printf("  opcode after submit = %d\n", c[i].aio_lio_opcode);
    }
    printf("remaining = %d\n", wait_array(c, 8, LONG_MS));
    for (int i = 0; i < 8; i++) {
        char l[32];
        snprintf(l, sizeof l, "c%d data ok=%d", i,
                 check_pat(b[i], (size_t)4096 << (i % 4), (off_t)i * 131072));
        show_cb(l, &c[i]);
    }
    /* file size FSZ + 9192: a 16 KiB read at FSZ + 4096 gets 5096 bytes */
    struct aiocb e;
    cb_init(&e, fd, b[0], 16384, FSZ + 4096);
    SHOW("aio_read(O_DIRECT, across EOF)", aio_read(&e));
    {
        int _w = wait_done(&e, LONG_MS);
        printf("wait=%s return=%zd data ok=%d\n", en(_w), aio_return(&e),
           check_pat(b[0], 5096, FSZ + 4096));
    }
    cb_init(&e, fd, b[0], 4096, FSZ + 16384);
    SHOW("aio_read(O_DIRECT, past EOF)", aio_read(&e));
    {
        int _w = wait_done(&e, LONG_MS);
        printf("wait=%s return=%zd\n", en(_w), aio_return(&e));
    }
    close(fd);
    return 0;
}
