/* The aio_suspend timeout is a deadline: completions of requests that are
 * not in the list (another thread keeps reading a file) must not extend it.
 * aio_suspend(pending pipe read, 300 ms) must fail with EAGAIN well before
 * the busy thread stops (after 4 s). */
#include "common.h"

static atomic_int stop;
static atomic_long done_reads;

static void *busy(void *arg)
{
    int fd = *(int *)arg;
    static char b[512];
    long long end = now_ms() + 4000;
    while (!atomic_load(&stop) && now_ms() < end) {
        struct aiocb c;
        cb_init(&c, fd, b, 512, 0);
        if (aio_read(&c) != 0)
            break;
        if (wait_done(&c, LONG_MS) != 0)
            break;
        atomic_fetch_add(&done_reads, 1);
    }
    return NULL;
}

int main(void)
{
    int fd = make_file(4096);
    int p[2];
    CHECK(pipe(p) == 0);
    static char pb[4];
    struct aiocb c;
    cb_init(&c, p[0], pb, 4, 0);
    CHECK(aio_read(&c) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, busy, &fd) == 0);
    sleep_ms(50);
    const struct aiocb *l[] = { &c };
    for (int k = 0; k < 2; k++) {
        struct timespec ts = { 0, 300000000 };
        long long s = now_ms();
        int r = aio_suspend(l, 1, &ts);
        int e = errno;
        long long d = now_ms() - s;
        printf("aio_suspend(pending, 300 ms) with other completions going on = %d errno=%s\n", r,
               r ? en(e) : "0");
        printf("  returned within 2 s = %d, busy thread still running = %d\n", d < 2000,
               now_ms() - s < 3500 && !atomic_load(&stop));
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("other reads completed meanwhile > 10 = %d\n", atomic_load(&done_reads) > 10);
    CHECK(write(p[1], "done", 4) == 4);
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    close(fd);
    return 0;
}
