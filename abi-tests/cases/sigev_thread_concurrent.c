/* SIGEV_THREAD callbacks may block and may call the AIO functions:
 * (1) two callbacks must be able to run at the same time (each waits for the
 *     other: a rendezvous, bounded);
 * (2) a callback submits a new request and waits for it with aio_suspend;
 * (3) 200 notifications all run. */
#include "common.h"

static atomic_int arrived, passed, reentrant_ok, count;
static sem_t sem;
static int fd;

static void rendezvous(union sigval v)
{
    (void)v;
    atomic_fetch_add(&arrived, 1);
    if (wait_flag(&arrived, 2, 5000))
        atomic_fetch_add(&passed, 1);
    sem_post(&sem);
}

static void reentrant(union sigval v)
{
    (void)v;
    static char b[64];
    struct aiocb c;
    cb_init(&c, fd, b, 64, 64);
    int ok = aio_read(&c) == 0;
    const struct aiocb *l[] = { &c };
    struct timespec t10 = { 10, 0 };
    int r;
    do {
        r = aio_suspend(l, 1, &t10);
    } while (r == -1 && errno == EINTR);
    ok = ok && r == 0 && aio_error(&c) == 0 && aio_return(&c) == 64 && check_pat(b, 64, 64);
    atomic_store(&reentrant_ok, ok ? 1 : -1);
    sem_post(&sem);
}

static void counter(union sigval v)
{
    (void)v;
    atomic_fetch_add(&count, 1);
}

static int sem_wait_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (sem_timedwait(&sem, &ts) == -1)
        if (errno != EINTR)
            return 0;
    return 1;
}

static void thread_notify(struct aiocb *c, void (*fn)(union sigval), int v)
{
    c->aio_sigevent.sigev_notify = SIGEV_THREAD;
    c->aio_sigevent.sigev_notify_function = fn;
    c->aio_sigevent.sigev_value.sival_int = v;
}

int main(void)
{
    sem_init(&sem, 0, 0);
    fd = make_file(1 << 16);
    static char b[2][64];
    struct aiocb c[2];
    for (int i = 0; i < 2; i++) {
        cb_init(&c[i], fd, b[i], 64, i * 64);
        thread_notify(&c[i], rendezvous, i);
    }
    SHOW("aio_read(c0, rendezvous callback)", aio_read(&c[0]));
    sleep_ms(50);
    SHOW("aio_read(c1, rendezvous callback)", aio_read(&c[1]));
    int ran = sem_wait_ms(LONG_MS) + sem_wait_ms(LONG_MS);
    printf("callbacks finished = %d, met each other = %d\n", ran, atomic_load(&passed));

    struct aiocb r;
    static char rb[64];
    cb_init(&r, fd, rb, 64, 0);
    thread_notify(&r, reentrant, 0);
    SHOW("aio_read(callback submits and suspends)", aio_read(&r));
    int fin = sem_wait_ms(LONG_MS);
    printf("callback finished = %d, its own request ok = %d\n", fin, atomic_load(&reentrant_ok));

    static struct aiocb m[200];
    static char mb[200][16];
    int sub = 0;
    for (int i = 0; i < 200; i++) {
        cb_init(&m[i], fd, mb[i], 16, i * 16);
        thread_notify(&m[i], counter, i);
        sub += aio_read(&m[i]) == 0;
    }
    int left = wait_array(m, 200, LONG_MS);
    printf("submitted = %d, remaining = %d\n", sub, left);
    int all = wait_flag(&count, 200, LONG_MS);
    printf("all 200 callbacks ran = %d\n", all);
    sleep_ms(50);
    printf("callback runs = %d\n", atomic_load(&count));
    close(fd);
    return 0;
}
