/* Four threads submit and reap at the same time (aio_suspend over windows
 * of 8, fio style), on one shared file and on their own files. */
#include "common.h"

#define T 4
#define N 500

static int shared_fd;
static int result[T];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    int own = make_file(N * 256);
    struct aiocb *c = calloc(2 * N, sizeof *c);
    char *buf = malloc((size_t)2 * N * 256);
    for (int i = 0; i < 2 * N; i++) {
        int fd = i % 2 ? own : shared_fd;
        off_t off = (off_t)((i / 2 + id * 37) % N) * 256;
        cb_init(&c[i], fd, buf + (size_t)i * 256, 256, off);
        if (aio_read(&c[i]) != 0)
            return NULL;
    }
    char *reaped = calloc(2 * N, 1);
    int done = 0;
    long long end = now_ms() + 30000;
    struct timespec t5 = { 5, 0 };
    while (done < 2 * N && now_ms() < end) {
        const struct aiocb *win[8];
        int nw = 0;
        for (int i = 0; i < 2 * N && nw < 8; i++)
            if (!reaped[i])
                win[nw++] = &c[i];
        aio_suspend(win, nw, &t5);
        for (int i = 0; i < 2 * N; i++)
            if (!reaped[i] && aio_error(&c[i]) != EINPROGRESS) {
                reaped[i] = 1;
                done++;
            }
    }
    int ok = 0;
    for (int i = 0; i < 2 * N; i++) {
        off_t off = (off_t)((i / 2 + id * 37) % N) * 256;
        ok += aio_error(&c[i]) == 0 && aio_return(&c[i]) == 256 &&
              check_pat(buf + (size_t)i * 256, 256, off);
    }
    result[id] = ok;
    close(own);
    return NULL;
}

int main(void)
{
    shared_fd = make_file(N * 256);
    pthread_t t[T];
    for (int i = 0; i < T; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < T; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < T; i++)
        printf("thread %d: %d of %d requests ok\n", i, result[i], 2 * N);
    return 0;
}
