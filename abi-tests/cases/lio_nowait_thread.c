/* lio_listio(LIO_NOWAIT) with a SIGEV_THREAD list notification: the
 * function runs exactly once, after every request is done. */
#include "common.h"

#define N 16

static struct aiocb c[N];
static atomic_int runs;
static volatile int r_val, r_alldone;
static sem_t sem;

static void fn(union sigval v)
{
    r_val = v.sival_int;
    int all = 1;
    for (int i = 0; i < N; i++)
        if (aio_error(&c[i]) == EINPROGRESS)
            all = 0;
    r_alldone = all;
    atomic_fetch_add(&runs, 1);
    sem_post(&sem);
}

int main(void)
{
    sem_init(&sem, 0, 0);
    int fd = make_file(1 << 20);
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[N][2048];
    struct aiocb *list[N];
    for (int i = 0; i < N; i++) {
        /* the last one reads a pipe, so the list cannot finish before the
         * write below */
        if (i == N - 1)
            cb_init(&c[i], p[0], b[i], 5, 0);
        else
            cb_init(&c[i], fd, b[i], 2048, (off_t)i * 4096);
        c[i].aio_lio_opcode = LIO_READ;
        list[i] = &c[i];
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = fn;
    sev.sigev_value.sival_int = 616;
    SHOW("lio_listio(LIO_NOWAIT, SIGEV_THREAD)", lio_listio(LIO_NOWAIT, list, N, &sev));
    printf("file requests left after wait = %d\n", wait_array(c, N - 1, LONG_MS));
    sleep_ms(20);
    printf("callback runs before the pipe read completes = %d\n", atomic_load(&runs));
    CHECK(write(p[1], "hello", 5) == 5);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += LONG_MS / 1000;
    int ok = sem_timedwait(&sem, &ts) == 0;
    printf("callback ran = %d value=%d all done inside callback=%d\n", ok, r_val, r_alldone);
    sleep_ms(50);
    printf("callback runs = %d\n", atomic_load(&runs));
    show_cb("pipe read", &c[N - 1]);
    printf("pipe data = %.5s\n", b[N - 1]);
    int good = 1;
    for (int i = 0; i < N - 1; i++)
        good &= aio_return(&c[i]) == 2048 && check_pat(b[i], 2048, (off_t)i * 4096);
    printf("file reads ok = %d\n", good);
    close(fd);
    return 0;
}
