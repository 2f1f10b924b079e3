/* aio_init: accepted before and after the first request (it returns
 * nothing); requests keep working with odd settings. */
#include "common.h"

int main(void)
{
    struct aioinit ai;
    memset(&ai, 0, sizeof ai);
    ai.aio_threads = 2;
    ai.aio_num = 8;
    ai.aio_idle_time = 1;
    aio_init(&ai);
    printf("aio_init(threads 2, num 8, idle 1) returned\n");
    int fd = make_file(1 << 16);
    static char b[16][1024];
    struct aiocb c[16];
    for (int i = 0; i < 16; i++) {
        cb_init(&c[i], fd, b[i], 1024, (off_t)i * 4096);
        CHECK(aio_read(&c[i]) == 0);
    }
    printf("remaining = %d\n", wait_array(c, 16, LONG_MS));
    int ok = 1;
    for (int i = 0; i < 16; i++)
        ok &= aio_return(&c[i]) == 1024 && check_pat(b[i], 1024, (off_t)i * 4096);
    printf("reads ok = %d\n", ok);
    memset(&ai, 0, sizeof ai);
    ai.aio_threads = 0;
    ai.aio_num = 0;
    ai.aio_idle_time = 0;
    aio_init(&ai);
    printf("aio_init(zeros) after requests returned\n");
    ai.aio_threads = 64;
    ai.aio_num = 1000;
    ai.aio_idle_time = -1;
    aio_init(&ai);
    printf("aio_init(threads 64, num 1000, idle -1) returned\n");
    for (int i = 0; i < 16; i++) {
        cb_init(&c[i], fd, b[i], 1024, (off_t)i * 1024);
        CHECK(aio_read(&c[i]) == 0);
    }
    printf("remaining = %d\n", wait_array(c, 16, LONG_MS));
    ok = 1;
    for (int i = 0; i < 16; i++)
        ok &= aio_return(&c[i]) == 1024 && check_pat(b[i], 1024, (off_t)i * 1024);
    printf("reads ok = %d\n", ok);
    /* with aio_threads 2: a blocked pipe read must not stop file I/O on
     * another fd for ever -- not checked, glibc may serialize.  Only a
     * simple pipe round trip. */
    int p[2];
    CHECK(pipe(p) == 0);
    struct aiocb pr;
    cb_init(&pr, p[0], b[0], 3, 0);
    CHECK(aio_read(&pr) == 0);
    CHECK(write(p[1], "xyz", 3) == 3);
    {
        int _w = wait_done(&pr, LONG_MS);
        printf("pipe read %s return=%zd\n", en(_w), aio_return(&pr));
    }
    close(fd);
    return 0;
}
