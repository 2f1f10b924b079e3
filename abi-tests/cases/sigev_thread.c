/* SIGEV_THREAD with default attributes: the function runs once per request
 * in a new, detached thread (not the submitter), with sigev_value, after the
 * result is stored, with an empty signal mask (glibc resets it). */
#include "common.h"

static sem_t sem;
static pthread_t main_thread;
static struct aiocb cbs[6];
static struct {
    int val, not_main, detached, err_ok, mask_empty;
} rec[16];
static atomic_int nrec;

static void cb_fn(union sigval v)
{
    int i = atomic_fetch_add(&nrec, 1);
    if (i >= 16)
        return;
    rec[i].val = v.sival_int;
    rec[i].not_main = !pthread_equal(pthread_self(), main_thread);
    pthread_attr_t a;
    int ds = -1;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getdetachstate(&a, &ds);
        pthread_attr_destroy(&a);
    }
    rec[i].detached = ds == PTHREAD_CREATE_DETACHED;
    int idx = v.sival_int % 10;
    rec[i].err_ok = aio_error(&cbs[idx]) != EINPROGRESS;
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    int empty = 1;
    for (int s = 1; s < 32; s++)
        if (sigismember(&cur, s))
            empty = 0;
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        if (sigismember(&cur, s))
            empty = 0;
    rec[i].mask_empty = empty;
    sem_post(&sem);
}

static int cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
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
    main_thread = pthread_self();
    sem_init(&sem, 0, 0);
    /* the submitter blocks signals; the callback thread must not inherit it */
    block_signal(SIGUSR1);
    block_signal(SIGRTMIN + 2);
    int fd = make_file(65536);
    static char buf[6][1000];

    cb_init(&cbs[0], fd, buf[0], 1000, 0);
    cbs[0].aio_sigevent.sigev_notify = SIGEV_THREAD;
    cbs[0].aio_sigevent.sigev_notify_function = cb_fn;
    cbs[0].aio_sigevent.sigev_notify_attributes = NULL;
    cbs[0].aio_sigevent.sigev_value.sival_int = 10;
    SHOW("aio_read(SIGEV_THREAD)", aio_read(&cbs[0]));
    printf("callback ran = %d\n", sem_wait_ms(LONG_MS));
    printf("  value=%d not_main=%d detached=%d result_stored=%d mask_empty=%d\n",
           rec[0].val, rec[0].not_main, rec[0].detached, rec[0].err_ok, rec[0].mask_empty);
    show_cb("  read", &cbs[0]);

    /* five more: a write, an fsync, a failing read, two reads */
    for (int i = 1; i < 6; i++) {
        int bad = i == 4;
        cb_init(&cbs[i], bad ? closed_fd() : fd, buf[i], 1000, i * 1000);
        cbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
        cbs[i].aio_sigevent.sigev_notify_function = cb_fn;
        cbs[i].aio_sigevent.sigev_value.sival_int = 10 * i + i;
    }
    fill_pat(buf[1], 1000, 1000);
    SHOW("aio_write(SIGEV_THREAD)", aio_write(&cbs[1]));
    CHECK(wait_done(&cbs[1], LONG_MS) == 0);
    SHOW("aio_fsync(SIGEV_THREAD)", aio_fsync(O_DSYNC, &cbs[2]));
    SHOW("aio_read(SIGEV_THREAD)", aio_read(&cbs[3]));
    SHOW("aio_read(closed fd, SIGEV_THREAD)", aio_read(&cbs[4]));
    SHOW("aio_read(SIGEV_THREAD)", aio_read(&cbs[5]));
    int n = 1;
    while (n < 6 && sem_wait_ms(LONG_MS))
        n++;
    printf("callbacks ran = %d\n", n);
    int vals[16];
    int all_ok = 1;
    for (int i = 0; i < n; i++) {
        vals[i] = rec[i].val;
        if (!rec[i].not_main || !rec[i].detached || !rec[i].err_ok || !rec[i].mask_empty)
            all_ok = 0;
    }
    qsort(vals, n, sizeof(int), cmp);
    printf("  values:");
    for (int i = 0; i < n; i++)
        printf(" %d", vals[i]);
    printf("\n  all in detached non-main threads, result stored, mask empty = %d\n", all_ok);
    for (int i = 1; i < 6; i++) {
        char l[16];
        snprintf(l, sizeof l, "  cb%d", i);
        show_cb(l, &cbs[i]);
    }
    sleep_ms(50);
    printf("total callback runs = %d\n", atomic_load(&nrec));
    close(fd);
    return 0;
}
