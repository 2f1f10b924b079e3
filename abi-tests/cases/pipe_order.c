/* Requests on a pipe complete in submission order: reads submitted on an
 * empty pipe get consecutive chunks of one write; writes land in the pipe
 * in submission order; a FIFO in the current directory behaves the same. */
#include "common.h"

#define N 8

static void reads(const char *what, int rfd, int wfd)
{
    static char b[N][5];
    struct aiocb c[N];
    for (int i = 0; i < N; i++) {
        memset(b[i], 0, 5);
        cb_init(&c[i], rfd, b[i], 4, 0);
        CHECK(aio_read(&c[i]) == 0);
    }
    char data[N * 4 + 1];
    for (int i = 0; i < N; i++)
        memset(data + 4 * i, 'a' + i, 4);
    CHECK(write(wfd, data, N * 4) == N * 4);
    printf("%s reads remaining after wait = %d\n", what, wait_array(c, N, LONG_MS));
    printf("%s reads:", what);
    for (int i = 0; i < N; i++)
        printf(" %s/%zd/%s", en(aio_error(&c[i])), aio_return(&c[i]), b[i]);
    printf("\n");
}

static void writes(const char *what, int rfd, int wfd)
{
    static char b[N][4];
    struct aiocb c[N];
    for (int i = 0; i < N; i++) {
        memset(b[i], 'A' + i, 4);
        cb_init(&c[i], wfd, b[i], 4, 0);
        CHECK(aio_write(&c[i]) == 0);
    }
    printf("%s writes remaining after wait = %d\n", what, wait_array(c, N, LONG_MS));
    int ok = 1;
    for (int i = 0; i < N; i++)
        ok &= aio_error(&c[i]) == 0 && aio_return(&c[i]) == 4;
    char got[N * 4 + 1] = { 0 };
    size_t have = 0;
    while (have < N * 4) {
        ssize_t r = read(rfd, got + have, N * 4 - have);
        CHECK(r > 0);
        have += (size_t)r;
    }
    printf("%s writes ok = %d, pipe content = %s\n", what, ok, got);
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    reads("pipe", p[0], p[1]);
    writes("pipe", p[0], p[1]);
    /* interleave: reads on the read end while writes go to the write end */
    static char rb[4][4];
    static char wb[4][4];
    struct aiocb r[4], w[4];
    for (int i = 0; i < 4; i++) {
        cb_init(&r[i], p[0], rb[i], 4, 0);
        CHECK(aio_read(&r[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        memset(wb[i], '0' + i, 4);
        cb_init(&w[i], p[1], wb[i], 4, 0);
        CHECK(aio_write(&w[i]) == 0);
    }
    int lr = wait_array(r, 4, LONG_MS);
    int lw = wait_array(w, 4, LONG_MS);
    printf("async reads + async writes remaining = %d %d\n", lr, lw);
    printf("reads got: %.4s %.4s %.4s %.4s\n", rb[0], rb[1], rb[2], rb[3]);

    CHECK(mkfifo("abi-fifo", 0600) == 0);
    int fr = open("abi-fifo", O_RDONLY | O_NONBLOCK);
    CHECK(fr >= 0);
    int fw = open("abi-fifo", O_WRONLY);
    CHECK(fw >= 0);
    unlink("abi-fifo");
    CHECK(fcntl(fr, F_SETFL, O_RDONLY) == 0); /* blocking reads */
    reads("fifo", fr, fw);
    writes("fifo", fr, fw);
    return 0;
}
