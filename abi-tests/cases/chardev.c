/* Character devices and other special files: /dev/zero, /dev/null,
 * /dev/full, an eventfd. */
#include "common.h"
#include <sys/eventfd.h>

static void run(const char *label, int fd, int write, void *buf, size_t n, off_t off)
{
    struct aiocb c;
    cb_init(&c, fd, buf, n, off);
    SHOW(label, write ? aio_write(&c) : aio_read(&c));
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  result", &c);
}

int main(void)
{
    static char b[8192];
    int z = open("/dev/zero", O_RDWR);
    int nul = open("/dev/null", O_RDWR);
    int full = open("/dev/full", O_RDWR);
    CHECK(z >= 0 && nul >= 0 && full >= 0);
    memset(b, 1, sizeof b);
    run("aio_read(/dev/zero, 8192 at 12345)", z, 0, b, 8192, 12345);
    int zero = 1;
    for (int i = 0; i < 8192; i++)
        zero &= b[i] == 0;
    printf("  zeros = %d\n", zero);
    run("aio_write(/dev/zero, 100)", z, 1, b, 100, 0);
    run("aio_read(/dev/null, 100)", nul, 0, b, 100, 0);
    run("aio_write(/dev/null, 8192)", nul, 1, b, 8192, 99);
    run("aio_write(/dev/full, 10)", full, 1, b, 10, 0);
    run("aio_read(/dev/full, 10)", full, 0, b, 10, 0);
    int e = eventfd(0, 0);
    CHECK(e >= 0);
    uint64_t v = 5, r = 0;
    run("aio_write(eventfd, 5)", e, 1, &v, 8, 0);
    run("aio_read(eventfd)", e, 0, &r, 8, 0);
    printf("  value = %llu\n", (unsigned long long)r);
    run("aio_read(eventfd, 4 bytes)", e, 0, &r, 4, 0);
    /* a read that waits for the counter */
    struct aiocb c;
    cb_init(&c, e, &r, 8, 0);
    r = 0;
    SHOW("aio_read(eventfd, counter 0)", aio_read(&c));
    sleep_ms(50);
    printf("  in progress = %d\n", aio_error(&c) == EINPROGRESS);
    v = 7;
    CHECK(write(e, &v, 8) == 8);
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("  result", &c);
    printf("  value = %llu\n", (unsigned long long)r);
    return 0;
}
