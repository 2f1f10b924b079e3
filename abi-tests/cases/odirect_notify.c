/* Notifications for O_DIRECT requests: SIGEV_SIGNAL (fields), SIGEV_THREAD,
 * aio_suspend wake-up, aio_cancel of a finished request. */
// EXPECT-STAT kaio>0
#include "common.h"

static sem_t sem;
static volatile int t_val, t_done;
static struct aiocb tc;

static void fn(union sigval v)
{
    t_val = v.sival_int;
    t_done = aio_error(&tc) != EINPROGRESS;
    sem_post(&sem);
}

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    sem_init(&sem, 0, 0);
    int fd = make_direct_file(1 << 16);
    char *b = aligned_buf(8192);
    struct aiocb c;
    cb_init(&c, fd, b, 8192, 8192);
    cb_signal(&c, SIG, 1234);
    SHOW("aio_read(O_DIRECT, SIGEV_SIGNAL)", aio_read(&c));
    siginfo_t si;
    int got = wait_signal(SIG, LONG_MS, &si);
    printf("signal = %d\n", got == SIG);
    if (got)
        print_siginfo("  siginfo", &si);
    printf("  done when signalled = %d\n", aio_error(&c) != EINPROGRESS);
    show_cb("  read", &c);
    printf("  data ok = %d\n", check_pat(b, 8192, 8192));

    cb_init(&tc, fd, b, 4096, 0);
    fill_pat(b, 4096, 0);
    tc.aio_sigevent.sigev_notify = SIGEV_THREAD;
    tc.aio_sigevent.sigev_notify_function = fn;
    tc.aio_sigevent.sigev_value.sival_int = 4321;
    SHOW("aio_write(O_DIRECT, SIGEV_THREAD)", aio_write(&tc));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += LONG_MS / 1000;
    int ran = sem_timedwait(&sem, &ts) == 0;
    printf("callback ran = %d value=%d done inside=%d\n", ran, t_val, t_done);
    show_cb("  write", &tc);

    cb_init(&c, fd, b, 4096, 4096);
    SHOW("aio_read(O_DIRECT)", aio_read(&c));
    const struct aiocb *l[] = { &c };
    struct timespec t10 = { 10, 0 };
    int r;
    do
        r = aio_suspend(l, 1, &t10);
    while (r == -1 && errno == EINTR);
    printf("aio_suspend = %d, done = %d\n", r, aio_error(&c) != EINPROGRESS);
    show_cb("  read", &c);
    SHOW_CANCEL("aio_cancel(fd, finished)", aio_cancel(fd, &c));
    printf("extra signals = %d\n", drain_signal(SIG, 50));
    close(fd);
    return 0;
}
