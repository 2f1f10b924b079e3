/* O_DIRECT requests waited for only by polling aio_error, as fio's posixaio
 * engine does: 8 rounds of 16 reads and then 16 writes read back. The shim
 * reaps their completions from the kernel ring inside aio_error
 * (kaio_poll_reaped) instead of in its reaper thread. */
// EXPECT-STAT kaio>=256
// EXPECT-STAT kaio_poll_reaped>0
#include "common.h"

#define N 16
#define BS 4096

int main(void)
{
    int fd = make_direct_file((size_t)N * BS * 8);
    char *b[N];
    struct aiocb c[N];
    for (int i = 0; i < N; i++)
        b[i] = aligned_buf(BS);
    int bad = 0, left = 0;
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < N; i++) {
            off_t off = ((off_t)round * N + i) * BS;
            cb_init(&c[i], fd, b[i], BS, off);
            CHECK(aio_read(&c[i]) == 0);
        }
        left += wait_array(c, N, LONG_MS);
        for (int i = 0; i < N; i++) {
            off_t off = ((off_t)round * N + i) * BS;
            if (aio_return(&c[i]) != BS || !check_pat(b[i], BS, off))
                bad++;
            /* write the block back one byte rotated: the next pass checks it */
            memmove(b[i] + 1, b[i], BS - 1);
            b[i][0] = (char)pat(off + BS - 1);
            cb_init(&c[i], fd, b[i], BS, off);
            CHECK(aio_write(&c[i]) == 0);
        }
        left += wait_array(c, N, LONG_MS);
        for (int i = 0; i < N; i++)
            if (aio_return(&c[i]) != BS)
                bad++;
    }
    printf("polled: %d still in progress, %d bad\n", left, bad);
    /* read everything back with pread: each block rotated by one byte */
    char *v = aligned_buf(BS);
    int wrong = 0;
    for (int k = 0; k < N * 8; k++) {
        CHECK(pread(fd, v, BS, (off_t)k * BS) == BS);
        if ((unsigned char)v[0] != pat((off_t)k * BS + BS - 1) || !check_pat(v + 1, BS - 1, (off_t)k * BS))
            wrong++;
    }
    printf("read back: %d blocks wrong\n", wrong);
    close(fd);
    return 0;
}
