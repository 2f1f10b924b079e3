/* SIGEV_THREAD with user attributes: the notification thread is created
 * with sigev_notify_attributes (a 16 MiB stack, bigger than the 8 MiB
 * default; detached / joinable as requested). */
#include "common.h"

#define BIG (16u << 20)

static sem_t sem;
static volatile int r_val, r_stack_ok, r_detached, r_joinable;

static void fn(union sigval v)
{
    pthread_attr_t a;
    size_t ss = 0;
    int ds = -1;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstacksize(&a, &ss);
        pthread_attr_getdetachstate(&a, &ds);
        pthread_attr_destroy(&a);
    }
    r_val = v.sival_int;
    r_stack_ok = ss >= BIG;
    r_detached = ds == PTHREAD_CREATE_DETACHED;
    r_joinable = ds == PTHREAD_CREATE_JOINABLE;
    /* use some of the big stack: fails (SIGSEGV) with a small one */
    volatile char big[12u << 20];
    big[0] = 1;
    big[sizeof big - 1] = 1;
    sem_post(&sem);
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

int main(void)
{
    sem_init(&sem, 0, 0);
    int fd = make_file(4096);
    static char buf[100];
    for (int k = 0; k < 2; k++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        CHECK(pthread_attr_setstacksize(&attr, BIG) == 0);
        pthread_attr_setdetachstate(&attr, k == 0 ? PTHREAD_CREATE_DETACHED
                                                  : PTHREAD_CREATE_JOINABLE);
        struct aiocb cb;
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
        cb.aio_sigevent.sigev_notify_function = fn;
        cb.aio_sigevent.sigev_notify_attributes = &attr;
        cb.aio_sigevent.sigev_value.sival_int = 500 + k;
        r_val = 0;
        printf("attributes: stacksize 16 MiB, %s\n", k == 0 ? "detached" : "joinable");
        SHOW("aio_read(SIGEV_THREAD, user attributes)", aio_read(&cb));
        int ran = sem_wait_ms(LONG_MS);
        printf("callback ran = %d value=%d stack>=16MiB=%d detached=%d joinable=%d\n",
               ran, r_val, r_stack_ok, r_detached, r_joinable);
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  read", &cb);
        pthread_attr_destroy(&attr);
    }
    close(fd);
    return 0;
}
