/* Once a request is seen complete, the implementation must not touch its
 * aiocb or buffer again: the program may free them.  Here they live in
 * their own mapping, unmapped as soon as completion is observed, so a late
 * access crashes the process.  Completion observed three ways: aio_error
 * polling (SIGEV_NONE), a SIGEV_SIGNAL taken with sigtimedwait, and inside
 * a SIGEV_THREAD callback.  On a regular file, a pipe and (if possible) an
 * O_DIRECT file; 40 rounds each. */
#include "common.h"

#define ROUNDS 40

struct slot {
    struct aiocb cb;
    char pad[4096 - sizeof(struct aiocb)];
    char buf[4096];
};

static sem_t sem;
static volatile int cb_err, cb_ret;

static void fn(union sigval v)
{
    /* Notification threads start with every signal unblocked (glibc and
     * the shim alike): block the test's signal here, or the next round's
     * SIGEV_SIGNAL could land on this thread while it exits and kill the
     * process (the default action) instead of reaching sigtimedwait. */
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGRTMIN + 1);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    struct slot *s = v.sival_ptr;
    cb_err = aio_error(&s->cb);
    cb_ret = (int)aio_return(&s->cb);
    munmap(s, sizeof *s);
    sem_post(&sem);
}

static struct slot *new_slot(int fd, off_t off)
{
    struct slot *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED);
    cb_init(&s->cb, fd, s->buf, 4096, off);
    return s;
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

/* kind: 0 file, 1 pipe (data written first), 2 O_DIRECT file */
static void run(const char *what, int kind, int fd, int wfd)
{
    int SIG = SIGRTMIN + 1;
    int ok_poll = 0, ok_sig = 0, ok_thr = 0;
    static char data[4096];
    for (int r = 0; r < ROUNDS; r++) {
        off_t off = kind == 1 ? 0 : (off_t)(r % 8) * 4096;
        /* polling */
        struct slot *s = new_slot(fd, off);
        if (kind == 1)
            CHECK(write(wfd, data, 4096) == 4096);
        CHECK(aio_read(&s->cb) == 0);
        int e = wait_done(&s->cb, LONG_MS);
        ssize_t ret = aio_return(&s->cb);
        munmap(s, sizeof *s);
        ok_poll += e == 0 && ret == 4096;
        /* signal */
        s = new_slot(fd, off);
        s->cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
        s->cb.aio_sigevent.sigev_signo = SIG;
        s->cb.aio_sigevent.sigev_value.sival_ptr = s;
        if (kind == 1)
            CHECK(write(wfd, data, 4096) == 4096);
        CHECK(aio_read(&s->cb) == 0);
        siginfo_t si;
        if (wait_signal(SIG, LONG_MS, &si) == SIG && si.si_value.sival_ptr == s) {
            e = aio_error(&s->cb);
            ret = aio_return(&s->cb);
            munmap(s, sizeof *s);
            ok_sig += e == 0 && ret == 4096;
        }
        /* thread */
        s = new_slot(fd, off);
        s->cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
        s->cb.aio_sigevent.sigev_notify_function = fn;
        s->cb.aio_sigevent.sigev_value.sival_ptr = s;
        if (kind == 1)
            CHECK(write(wfd, data, 4096) == 4096);
        CHECK(aio_read(&s->cb) == 0);
        if (sem_wait_ms(LONG_MS))
            ok_thr += cb_err == 0 && cb_ret == 4096;
    }
    sleep_ms(100);
    printf("%s: polling %d/%d, signal %d/%d, thread %d/%d\n", what, ok_poll, ROUNDS, ok_sig,
           ROUNDS, ok_thr, ROUNDS);
}

int main(void)
{
    block_signal(SIGRTMIN + 1);
    sem_init(&sem, 0, 0);
    int fd = make_file(8 * 4096);
    run("regular file", 0, fd, -1);
    int p[2];
    CHECK(pipe(p) == 0);
    run("pipe", 1, p[0], p[1]);
    int d = make_file_flags(8 * 4096, O_RDWR | O_DIRECT);
    if (d >= 0)
        run("O_DIRECT file", 2, d, -1);
    else
        printf("O_DIRECT file: polling %d/%d, signal %d/%d, thread %d/%d\n", ROUNDS, ROUNDS,
               ROUNDS, ROUNDS, ROUNDS, ROUNDS);
    printf("still alive\n");
    return 0;
}
