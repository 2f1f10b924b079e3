/* 4000 aiocbs in flight at once on one regular file: 4000 writes, then
 * 4000 reads of other offsets, then a mixed batch via lio_listio NOWAIT;
 * every result and every byte checked. */
#include "common.h"

#define N 4000
#define SZ 512

int main(void)
{
    int fd = make_file(0);
    char *wbuf = malloc((size_t)N * SZ);
    char *rbuf = malloc((size_t)N * SZ);
    struct aiocb *c = calloc(N, sizeof *c);
    CHECK(wbuf && rbuf && c);
    fill_pat(wbuf, (size_t)N * SZ, 0);
    int sub = 0;
    for (int i = 0; i < N; i++) {
        /* submit in a scattered order */
        int k = (int)(((long)i * 2963) % N);
        cb_init(&c[i], fd, wbuf + (size_t)k * SZ, SZ, (off_t)k * SZ);
        sub += aio_write(&c[i]) == 0;
    }
    printf("writes submitted = %d\n", sub);
    printf("writes remaining after wait = %d\n", wait_array(c, N, 30000));
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += aio_error(&c[i]) == 0 && aio_return(&c[i]) == SZ;
    printf("writes ok = %d\n", ok);
    printf("file size = %lld\n", (long long)file_size(fd));

    sub = 0;
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, rbuf + (size_t)i * SZ, SZ, (off_t)(N - 1 - i) * SZ);
        sub += aio_read(&c[i]) == 0;
    }
    printf("reads submitted = %d\n", sub);
    printf("reads remaining after wait = %d\n", wait_array(c, N, 30000));
    ok = 0;
    for (int i = 0; i < N; i++)
        ok += aio_error(&c[i]) == 0 && aio_return(&c[i]) == SZ &&
              check_pat(rbuf + (size_t)i * SZ, SZ, (off_t)(N - 1 - i) * SZ);
    printf("reads ok = %d\n", ok);

    /* lio_listio NOWAIT with all 4000: even ones read, odd ones rewrite */
    struct aiocb **list = calloc(N, sizeof *list);
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, (i % 2 ? wbuf : rbuf) + (size_t)i * SZ, SZ, (off_t)i * SZ);
        c[i].aio_lio_opcode = i % 2 ? LIO_WRITE : LIO_READ;
        list[i] = &c[i];
    }
    memset(rbuf, 0, (size_t)N * SZ);
    SHOW("lio_listio(LIO_NOWAIT, 4000)", lio_listio(LIO_NOWAIT, list, N, NULL));
    printf("remaining after wait = %d\n", wait_array(c, N, 30000));
    ok = 0;
    for (int i = 0; i < N; i++)
        ok += aio_error(&c[i]) == 0 && aio_return(&c[i]) == SZ &&
              (i % 2 || check_pat(rbuf + (size_t)i * SZ, SZ, (off_t)i * SZ));
    printf("lio ok = %d\n", ok);
    SHOW("lio_listio(LIO_WAIT, 4000)", lio_listio(LIO_WAIT, list, N, NULL));
    ok = 0;
    for (int i = 0; i < N; i++)
        ok += aio_error(&c[i]) == 0 && aio_return(&c[i]) == SZ;
    printf("lio wait ok = %d\n", ok);
    close(fd);
    return 0;
}
