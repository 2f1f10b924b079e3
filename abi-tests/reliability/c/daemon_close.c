/* A daemon-style program closes every fd above 2 (close_range, and a
 * close() loop to 1024) before its first AIO call and again after it
 * (which closes any descriptor the AIO implementation opened), and AIO
 * must still work: O_DIRECT files, buffered files, pipes, SIGEV_THREAD and
 * SIGEV_SIGNAL notifications, aio_fsync, lio_listio, aio_suspend. After
 * each close-all, the program first opens 8 descriptors of a sentinel file,
 * which take the lowest free numbers (among them the one an
 * implementation's descriptor had): AIO must neither write to them nor
 * close them. The number of descriptors
 * inherited across exec (no FD_CLOEXEC) is the same as under glibc.
 */
#include "../rel.h"
#include <linux/close_range.h>

static atomic_int thread_notes;
static void note(union sigval v) { (void)v; atomic_fetch_add(&thread_notes, 1); }

static void close_all(int use_range)
{
    if (use_range) {
        CHECK(syscall(SYS_close_range, 3u, ~0u, 0u) == 0);
    } else {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    }
}

static void round_of_io(const char *label)
{
    int ok = 1;
    /* O_DIRECT file */
    int fd = make_file_at("d.dat", 1 << 20, O_RDWR | O_DIRECT);
    int direct = fd >= 0;
    if (fd < 0 && errno == EINVAL)
        fd = make_file_at("d.dat", 1 << 20, O_RDWR);
    CHECK(fd >= 0);
    char *b = aligned_buf(16 * 4096);
    struct aiocb r[16];
    for (int i = 0; i < 16; i++) {
        cb_init(&r[i], fd, b + i * 4096, 4096, (off_t)i * 65536);
        CHECK(aio_read(&r[i]) == 0);
    }
    if (wait_array(r, 16, LONG_MS))
        ok = 0;
    for (int i = 0; i < 16; i++)
        if (aio_error(&r[i]) || aio_return(&r[i]) != 4096 || !check_pat(b + i * 4096, 4096, (off_t)i * 65536))
            ok = 0;
    printf("%s: O_DIRECT reads ok: %d (direct=%d)\n", label, ok, direct);

    /* buffered write + fsync + read through lio_listio */
    ok = 1;
    int bf = open("b.dat", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(bf >= 0);
    fill_pat(b, 8 * 4096, 0);
    struct aiocb w[8], *l[8];
    for (int i = 0; i < 8; i++) {
        cb_init(&w[i], bf, b + i * 4096, 4096, (off_t)i * 4096);
        w[i].aio_lio_opcode = LIO_WRITE;
        l[i] = &w[i];
    }
    if (lio_listio(LIO_WAIT, l, 8, NULL) != 0)
        ok = 0;
    struct aiocb fs;
    cb_init(&fs, bf, NULL, 0, 0);
    fs.aio_sigevent.sigev_notify = SIGEV_THREAD;
    fs.aio_sigevent.sigev_notify_function = note;
    CHECK(aio_fsync(O_SYNC, &fs) == 0);
    const struct aiocb *sl[1] = { &fs };
    struct timespec ts = { 10, 0 };
    if (aio_suspend(sl, 1, &ts) != 0 || aio_error(&fs) != 0)
        ok = 0;
    long long end = now_ms() + LONG_MS;
    while (atomic_load(&thread_notes) < 1 && now_ms() < end)
        sleep_ms(1);
    if (atomic_exchange(&thread_notes, 0) != 1)
        ok = 0;
    printf("%s: buffered lio_listio(LIO_WAIT) + aio_fsync(SIGEV_THREAD) ok: %d\n", label, ok);

    /* pipe with SIGEV_SIGNAL */
    ok = 1;
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0);
    static char pb[4];
    struct aiocb pr;
    cb_init(&pr, p[0], pb, 3, 0);
    pr.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    pr.aio_sigevent.sigev_signo = SIGUSR1;
    CHECK(aio_read(&pr) == 0);
    CHECK(write(p[1], "abc", 3) == 3);
    struct timespec t10 = { 10, 0 };
    siginfo_t si;
    if (sigtimedwait(&s, &si, &t10) != SIGUSR1 || si.si_code != SI_ASYNCIO)
        ok = 0;
    if (aio_error(&pr) != 0 || aio_return(&pr) != 3 || memcmp(pb, "abc", 3))
        ok = 0;
    printf("%s: pipe read with SIGEV_SIGNAL ok: %d\n", label, ok);
    close(p[0]);
    close(p[1]);
    close(fd);
    close(bf);
    unlink("d.dat");
    unlink("b.dat");
    free(b);
}

static int inheritable_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            n++;
    }
    return n;
}

/* 8 descriptors on one sentinel file: after a close-all they take the
 * lowest numbers, among them any number an implementation's own
 * descriptor had before */
#define NSENT 8
static int sentinel[NSENT];
static void open_sentinel(void)
{
    for (int i = 0; i < NSENT; i++) {
        sentinel[i] = open("sentinel.dat", O_RDWR | O_CREAT | (i == 0 ? O_TRUNC : 0) | O_CLOEXEC, 0644);
        CHECK(sentinel[i] >= 0);
    }
    CHECK(write(sentinel[0], "SENTINEL", 8) == 8);
}

static void check_sentinel(const char *label)
{
    int open_ok = 1;
    for (int i = 0; i < NSENT; i++) {
        char path[64], t[PATH_MAX] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", sentinel[i]);
        ssize_t k = readlink(path, t, sizeof t - 1);
        t[k > 0 ? k : 0] = 0;
        if (fcntl(sentinel[i], F_GETFD) < 0 || strstr(t, "sentinel.dat") == NULL) {
            open_ok = 0;
            BAD("%s: sentinel fd %d now -> '%s'", label, sentinel[i], t);
        }
    }
    char b[64];
    ssize_t r = pread(sentinel[0], b, sizeof b, 0);
    int intact = r == 8 && memcmp(b, "SENTINEL", 8) == 0;
    if (!intact)
        BAD("%s: sentinel file has %zd bytes", label, r);
    printf("%s: sentinel fds still open on their file: %d, content untouched: %d\n", label, open_ok, intact);
    for (int i = 0; i < NSENT; i++)
        close(sentinel[i]);
    unlink("sentinel.dat");
}

int main(void)
{
    printf("open fds at start (above 2) closed by close_range\n");
    close_all(1);
    round_of_io("first use");
    printf("fds inherited across exec after AIO use: %d\n", inheritable_fds());
    close_all(1);
    printf("close_range(3, ~0) after AIO use: done\n");
    open_sentinel();
    round_of_io("after close_range");
    check_sentinel("after close_range");
    close_all(0);
    printf("close() of 3..1023 after AIO use: done\n");
    open_sentinel();
    round_of_io("after close loop");
    check_sentinel("after close loop");
    printf("fds inherited across exec at the end: %d\n", inheritable_fds());
    return rel_exit();
}
