/* A 1 MiB aio_write to a pipe (16 times the pipe buffer) completes in full
 * while another thread drains the pipe; the bytes arrive intact. */
#include "common.h"

#define SZ (1 << 20)

static int rfd;
static char *got;
static size_t have;

static void *reader(void *arg)
{
    (void)arg;
    while (have < SZ) {
        ssize_t r = read(rfd, got + have, 65536);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    return NULL;
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    rfd = p[0];
    char *buf = malloc(SZ);
    got = malloc(SZ);
    fill_pat(buf, SZ, 7);
    struct aiocb c;
    cb_init(&c, p[1], buf, SZ, 0);
    SHOW("aio_write(pipe, 1 MiB)", aio_write(&c));
    sleep_ms(50);
    printf("in progress while nobody reads = %d\n", aio_error(&c) == EINPROGRESS);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("write", &c);
    pthread_join(t, NULL);
    printf("received = %zu, data ok = %d\n", have, check_pat(got, have, 7));
    return 0;
}
