// EXPECT-FILE
/* SIGEV_THREAD_ID: glibc ignores it (no signal at all).  The shim delivers
 * the signal to the named thread (thread-directed, not process-wide).
 * Checked without a race: the signal is blocked everywhere; the main thread
 * polls the target thread's /proc status for SigPnd (thread-private pending)
 * and ShdPnd (process-wide pending), then the target thread takes it with
 * sigtimedwait.  Expected output: the documented/shim behaviour. */
#include "common.h"

static int SIG;
static atomic_int tid_pub, go, done;
static siginfo_t tsi;
static int tgot;

static void *target(void *arg)
{
    (void)arg;
    atomic_store(&tid_pub, gettid());
    wait_flag(&go, 1, LONG_MS);
    tgot = wait_signal(SIG, 100, &tsi);
    atomic_store(&done, 1);
    return NULL;
}

/* 1 if bit SIG is set in the hex mask following `key` in the status file */
static int pending_bit(pid_t tid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int r = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) == 0) {
            unsigned long long m = strtoull(line + strlen(key), NULL, 16);
            r = (int)((m >> (SIG - 1)) & 1);
        }
    }
    fclose(f);
    return r;
}

int main(void)
{
    SIG = SIGRTMIN + 4;
    block_signal(SIG);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, target, NULL) == 0);
    CHECK(wait_flag(&tid_pub, 1, LONG_MS));
    int fd = make_file(4096);
    static char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    cb.aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
    cb.aio_sigevent.sigev_signo = SIG;
    cb.aio_sigevent.sigev_value.sival_int = 4242;
    cb.aio_sigevent.sigev_notify_thread_id = atomic_load(&tid_pub);
    SHOW("aio_read(SIGEV_THREAD_ID)", aio_read(&cb));
    printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
    show_cb("  read", &cb);
    pid_t tid = atomic_load(&tid_pub);
    int thr = 0, shd = 0;
    long long end = now_ms() + 3000;
    while (now_ms() < end) {
        thr = pending_bit(tid, "SigPnd:");
        shd = pending_bit(tid, "ShdPnd:");
        if (thr == 1 || shd == 1)
            break;
        sleep_ms(2);
    }
    printf("pending on the target thread = %d\n", thr == 1);
    printf("pending process-wide = %d\n", shd == 1);
    atomic_store(&go, 1);
    pthread_join(t, NULL);
    printf("target thread received = %d\n", tgot == SIG);
    if (tgot)
        printf("  si_signo=%s si_value.sival_int=%d\n", signame(tsi.si_signo),
               tsi.si_value.sival_int);
    printf("signals left for the process = %d\n", drain_signal(SIG, 50));
    close(fd);
    return 0;
}
