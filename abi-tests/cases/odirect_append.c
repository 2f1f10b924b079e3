/* O_DIRECT | O_APPEND: aligned writes go to the end of the file in
 * submission order, whatever backend serves them. */
#include "common.h"

#define N 24

int main(void)
{
    int fd = make_file_flags(4096, O_RDWR | O_DIRECT | O_APPEND);
    if (fd < 0) {
        if (errno == EINVAL) {
            printf("SKIP: O_DIRECT not supported on this filesystem\n");
            return 0;
        }
        die("open: %s", en(errno));
    }
    char *b[N];
    struct aiocb c[N];
    for (int i = 0; i < N; i++) {
        b[i] = aligned_buf(4096);
        memset(b[i], 'A' + i, 4096);
        cb_init(&c[i], fd, b[i], 4096, 0);
        CHECK(aio_write(&c[i]) == 0);
    }
    printf("remaining = %d\n", wait_array(c, N, LONG_MS));
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 4096;
    printf("all ok = %d\n", ok);
    printf("file size = %lld\n", (long long)file_size(fd));
    char *back = aligned_buf((N + 1) * 4096);
    CHECK(pread(fd, back, (N + 1) * 4096, 0) == (N + 1) * 4096);
    printf("head untouched = %d\n", check_pat(back, 4096, 0));
    printf("order:");
    for (int i = 0; i < N; i++)
        printf("%c", back[(i + 1) * 4096]);
    printf("\n");
    close(fd);
    return 0;
}
