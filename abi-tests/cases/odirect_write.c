/* O_DIRECT writes then aio_fsync (both kinds) then reads back. */
// EXPECT-STAT kaio>0
#include "common.h"

#define N 16

int main(void)
{
    int fd = make_direct_file(0);
    char *b[N];
    struct aiocb c[N];
    for (int i = 0; i < N; i++) {
        b[i] = aligned_buf(8192);
        fill_pat(b[i], 8192, (off_t)i * 8192);
        cb_init(&c[i], fd, b[i], 8192, (off_t)i * 8192);
        CHECK(aio_write(&c[i]) == 0);
    }
    printf("opcode after submit = %d\n", c[0].aio_lio_opcode);
    printf("remaining = %d\n", wait_array(c, N, LONG_MS));
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 8192;
    printf("writes ok = %d\n", ok);
    struct aiocb s;
    cb_init(&s, fd, NULL, 0, 0);
    SHOW("aio_fsync(O_SYNC)", aio_fsync(O_SYNC, &s));
    printf("opcode after submit = %d\n", s.aio_lio_opcode);
    printf("wait=%s\n", en(wait_done(&s, LONG_MS)));
    show_cb("fsync", &s);
    cb_init(&s, fd, NULL, 0, 0);
    SHOW("aio_fsync(O_DSYNC)", aio_fsync(O_DSYNC, &s));
    printf("opcode after submit = %d\n", s.aio_lio_opcode);
    printf("wait=%s\n", en(wait_done(&s, LONG_MS)));
    show_cb("fdatasync", &s);
    printf("file size = %lld\n", (long long)file_size(fd));
    for (int i = 0; i < N; i++) {
        memset(b[i], 0, 8192);
        cb_init(&c[i], fd, b[i], 8192, (off_t)(N - 1 - i) * 8192);
        CHECK(aio_read(&c[i]) == 0);
    }
    printf("remaining = %d\n", wait_array(c, N, LONG_MS));
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_return(&c[i]) == 8192 && check_pat(b[i], 8192, (off_t)(N - 1 - i) * 8192);
    printf("read back ok = %d\n", ok);
    /* writes followed by an fsync barrier */
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], fd, b[i], 8192, (off_t)(N + i) * 8192);
        CHECK(aio_write(&c[i]) == 0);
    }
    cb_init(&s, fd, NULL, 0, 0);
    CHECK(aio_fsync(O_SYNC, &s) == 0);
    printf("fsync wait=%s\n", en(wait_done(&s, LONG_MS)));
    int pend = 0;
    for (int i = 0; i < N; i++)
        pend += aio_error(&c[i]) == EINPROGRESS;
    printf("writes in progress when fsync done = %d\n", pend);
    int left = wait_array(c, N, LONG_MS);
    printf("remaining = %d, file size = %lld\n", left, (long long)file_size(fd));
    close(fd);
    return 0;
}
