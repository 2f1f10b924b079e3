/* O_APPEND: writes ignore aio_offset and land at the end, in submission
 * order (the result is exactly the submission order). */
#include "common.h"

#define N 32

int main(void)
{
    int fd = make_file_flags(10, O_RDWR | O_APPEND);
    CHECK(fd >= 0);
    static char b[N][100];
    struct aiocb c[N];
    for (int i = 0; i < N; i++) {
        memset(b[i], 'A' + (i % 26), sizeof b[i]);
        b[i][0] = '0' + (i / 10);
        b[i][1] = '0' + (i % 10);
        cb_init(&c[i], fd, b[i], (size_t)(50 + i), 0);
        CHECK(aio_write(&c[i]) == 0);
    }
    printf("remaining = %d\n", wait_array(c, N, LONG_MS));
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 50 + i;
    printf("all returned their length = %d\n", ok);
    off_t sz = file_size(fd);
    printf("file size = %lld\n", (long long)sz);
    char *all = malloc((size_t)sz);
    CHECK(pread(fd, all, (size_t)sz, 0) == sz);
    printf("head untouched = %d\n", check_pat(all, 10, 0));
    size_t off = 10;
    int order = 1;
    for (int i = 0; i < N; i++) {
        if (memcmp(all + off, b[i], (size_t)(50 + i)) != 0)
            order = 0;
        off += (size_t)(50 + i);
    }
    printf("chunks in submission order = %d\n", order);
    /* offsets are ignored even when pointing inside the file */
    struct aiocb x;
    cb_init(&x, fd, b[0], 7, 3);
    SHOW("aio_write(O_APPEND, offset 3)", aio_write(&x));
    printf("wait=%s\n", en(wait_done(&x, LONG_MS)));
    show_cb("x", &x);
    printf("file size = %lld\n", (long long)file_size(fd));
    close(fd);
    return 0;
}
