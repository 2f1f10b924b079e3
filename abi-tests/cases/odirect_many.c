/* 512 O_DIRECT reads and 512 writes in flight at once, all checked; then
 * waited for with aio_suspend (fio style: up to 8 aiocbs per call). */
// EXPECT-STAT kaio>0
#include "common.h"

#define N 512

int main(void)
{
    int fd = make_direct_file((size_t)N * 4096);
    char *rb = aligned_buf((size_t)N * 4096);
    char *wb = aligned_buf((size_t)N * 4096);
    static struct aiocb r[N], w[N];
    fill_pat(wb, (size_t)N * 4096, 1 << 30);
    int sub = 0;
    for (int i = 0; i < N; i++) {
        cb_init(&r[i], fd, rb + (size_t)i * 4096, 4096, (off_t)i * 4096);
        sub += aio_read(&r[i]) == 0;
        cb_init(&w[i], fd, wb + (size_t)i * 4096, 4096, (off_t)(N + i) * 4096);
        sub += aio_write(&w[i]) == 0;
    }
    printf("submitted = %d\n", sub);
    /* fio-style reaping with aio_suspend over windows of 8 */
    int done = 0, rounds = 0, errors = 0;
    struct timespec t5 = { 5, 0 };
    static char reaped[2 * N];
    long long end = now_ms() + 30000;
    while (done < 2 * N && now_ms() < end) {
        const struct aiocb *win[8];
        int nw = 0;
        for (int i = 0; i < 2 * N && nw < 8; i++)
            if (!reaped[i])
                win[nw++] = i < N ? &r[i] : &w[i - N];
        int rc = aio_suspend(win, nw, &t5);
        if (rc != 0 && errno != EINTR)
            errors++;
        rounds++;
        for (int i = 0; i < 2 * N; i++) {
            struct aiocb *cb = i < N ? &r[i] : &w[i - N];
            if (!reaped[i] && aio_error(cb) != EINPROGRESS) {
                reaped[i] = 1;
                done++;
            }
        }
    }
    printf("reaped = %d, aio_suspend errors = %d\n", done, errors);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        ok += aio_error(&r[i]) == 0 && aio_return(&r[i]) == 4096 &&
              check_pat(rb + (size_t)i * 4096, 4096, (off_t)i * 4096);
        ok += aio_error(&w[i]) == 0 && aio_return(&w[i]) == 4096;
    }
    printf("ok = %d\n", ok);
    char *back = aligned_buf((size_t)N * 4096);
    CHECK(pread(fd, back, (size_t)N * 4096, (off_t)N * 4096) == (ssize_t)N * 4096);
    printf("written data ok = %d\n", check_pat(back, (size_t)N * 4096, 1 << 30));
    close(fd);
    return 0;
}
