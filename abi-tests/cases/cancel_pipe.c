/* aio_cancel on a pipe.  The first read on an empty pipe is running and
 * blocks (AIO_NOTCANCELED); the reads after it on the same pipe are queued
 * in submission order and can be cancelled (AIO_CANCELED, ECANCELED / -1
 * stored, the notification still sent).  Then data lets the running one
 * finish and the rest of the queue proceeds in order. */
#include "common.h"

static sem_t sem;
static volatile int th_val, th_err;
static struct aiocb *th_cb;

static void fn(union sigval v)
{
    th_val = v.sival_int;
    th_err = aio_error(th_cb);
    sem_post(&sem);
}

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    sem_init(&sem, 0, 0);
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[5][4];
    struct aiocb c[5];
    for (int i = 0; i < 5; i++) {
        cb_init(&c[i], p[0], b[i], 4, 0);
        cb_signal(&c[i], SIG, i);
    }
    c[2].aio_sigevent.sigev_notify = SIGEV_THREAD;
    c[2].aio_sigevent.sigev_notify_function = fn;
    c[2].aio_sigevent.sigev_value.sival_int = 22;
    th_cb = &c[2];
    SHOW("aio_read(c0) empty pipe", aio_read(&c[0]));
    sleep_ms(100); /* let c0 start: it is then blocked in read() */
    for (int i = 1; i < 5; i++) {
        char l[32];
        snprintf(l, sizeof l, "aio_read(c%d)", i);
        SHOW(l, aio_read(&c[i]));
    }
    SHOW_CANCEL("aio_cancel(p0, c0 [running])", aio_cancel(p[0], &c[0]));
    printf("c0: %s\n", en(aio_error(&c[0])));
    SHOW_CANCEL("aio_cancel(p0, c1 [queued])", aio_cancel(p[0], &c[1]));
    show_cb("c1", &c[1]);
    siginfo_t si;
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("c1 notification: %d value=%d code_ok=%d\n", got == SIG, got ? si.si_value.sival_int : -1,
           got && si.si_code == SI_ASYNCIO);
    SHOW_CANCEL("aio_cancel(p0, c1) again", aio_cancel(p[0], &c[1]));
    SHOW_CANCEL("aio_cancel(p0, c2 [queued, SIGEV_THREAD])", aio_cancel(p[0], &c[2]));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += LONG_MS / 1000;
    int ran = sem_timedwait(&sem, &ts) == 0;
    printf("c2 notification thread ran = %d value=%d aio_error inside=%s\n", ran, th_val, en(th_err));
    show_cb("c2", &c[2]);
    printf("c0 c3 c4 in progress = %d %d %d\n", aio_error(&c[0]) == EINPROGRESS,
           aio_error(&c[3]) == EINPROGRESS, aio_error(&c[4]) == EINPROGRESS);
    printf("signals so far = %d\n", drain_signal(SIG, 50));
    /* data for c0, c3, c4 in submission order */
    CHECK(write(p[1], "AAAADDDDEEEE", 12) == 12);
    struct aiocb *l[] = { &c[0], &c[3], &c[4] };
    printf("remaining after wait = %d\n", wait_all(l, 3, LONG_MS));
    show_cb("c0", &c[0]);
    show_cb("c3", &c[3]);
    show_cb("c4", &c[4]);
    printf("data c0=%.4s c3=%.4s c4=%.4s\n", b[0], b[3], b[4]);
    int vals[8], n = 0;
    while (n < 8 && wait_signal(SIG, 200, &si) == SIG)
        vals[n++] = si.si_value.sival_int;
    int seen[5] = { 0 };
    for (int i = 0; i < n; i++)
        if (vals[i] >= 0 && vals[i] < 5)
            seen[vals[i]]++;
    printf("completion signals: c0=%d c3=%d c4=%d total=%d\n", seen[0], seen[3], seen[4], n);
    SHOW_CANCEL("aio_cancel(p0, c0) after completion", aio_cancel(p[0], &c[0]));
    return 0;
}
