/* RLIMIT_NPROC reached while requests notify with SIGEV_THREAD.
 *
 * usage: nproc EXTRA  (run as a non-root user: root ignores RLIMIT_NPROC)
 *
 * RLIMIT_NPROC is set to the number of threads this user already runs,
 * plus EXTRA. 40 reads (buffered file, SIGEV_THREAD, each callback holds
 * its thread 20 ms) then 8 reads on pipes. Every request must complete,
 * with its data or EAGAIN (glibc's answer when it can start no thread), no
 * hang, no crash. Notifications: glibc drops the ones whose thread cannot
 * be created; the shim retries, then counts them in stats "notify_failed".
 * stderr gets "submitted=N ok=N eagain=N callbacks=N" for the runner.
 */
#include "../rel.h"
#include <ctype.h>

#define NF 40
#define NP 8

static atomic_int callbacks;
static void cb_fn(union sigval v)
{
    (void)v;
    sleep_ms(20);
    atomic_fetch_add(&callbacks, 1);
}

static long user_threads(uid_t uid)
{
    DIR *d = opendir("/proc");
    CHECK(d);
    long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char p[300], line[256];
        snprintf(p, sizeof p, "/proc/%s/status", e->d_name);
        FILE *f = fopen(p, "re");
        if (!f)
            continue;
        long threads = 0;
        unsigned ruid = ~0u;
        while (fgets(line, sizeof line, f)) {
            sscanf(line, "Uid: %u", &ruid);
            sscanf(line, "Threads: %ld", &threads);
        }
        fclose(f);
        if (ruid == uid)
            total += threads;
    }
    closedir(d);
    return total;
}

int main(int argc, char **argv)
{
    long extra = argc > 1 ? atol(argv[1]) : 2;
    if (getuid() == 0)
        printf("NOTE: running as root: RLIMIT_NPROC is not enforced\n");
    int fd = make_file_at("nproc.dat", NF * 4096, O_RDONLY);
    CHECK(fd >= 0);
    int p[NP][2];
    for (int i = 0; i < NP; i++)
        CHECK(pipe2(p[i], O_CLOEXEC) == 0);
    long have = user_threads(getuid());
    struct rlimit rl = { (rlim_t)(have + extra), (rlim_t)(have + extra) };
    CHECK(setrlimit(RLIMIT_NPROC, &rl) == 0);

    static struct aiocb c[NF + NP];
    static char buf[NF + NP][4096];
    int submitted = 0, refused = 0;
    for (int i = 0; i < NF + NP; i++) {
        if (i < NF)
            cb_init(&c[i], fd, buf[i], 4096, (off_t)i * 4096);
        else
            cb_init(&c[i], p[i - NF][0], buf[i], 4, 0);
        c[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
        c[i].aio_sigevent.sigev_notify_function = cb_fn;
        c[i].aio_sigevent.sigev_value.sival_int = i;
        errno = 0;
        if (aio_read(&c[i]) == 0)
            submitted++;
        else {
            if (errno != EAGAIN)
                BAD("aio_read %d: -1 %s", i, en(errno));
            refused++;
            c[i].aio_fildes = -1; /* not ours to wait for */
        }
    }
    for (int i = 0; i < NP; i++)
        CHECK(write(p[i][1], "pipe", 4) == 4);
    int ok = 0, eagain = 0, other = 0, left = 0;
    for (int i = 0; i < NF + NP; i++) {
        if (c[i].aio_fildes == -1)
            continue;
        int e = wait_done(&c[i], 3 * LONG_MS);
        ssize_t r = aio_return(&c[i]);
        if (e == EINPROGRESS)
            left++;
        else if (e == 0 && i < NF && r == 4096 && check_pat(buf[i], 4096, (off_t)i * 4096))
            ok++;
        else if (e == 0 && i >= NF && r == 4 && memcmp(buf[i], "pipe", 4) == 0)
            ok++;
        else if (e == EAGAIN)
            eagain++;
        else {
            other++;
            BAD("request %d: aio_error=%s aio_return=%zd", i, en(e), r);
        }
    }
    if (left)
        BAD("%d requests never completed", left);
    printf("every request completed with its data or EAGAIN: %d\n", left == 0 && other == 0);
    /* every completed request notifies (EAGAIN ones too); give them time:
     * the shim retries a thread creation for ~0.4 s */
    long long end = now_ms() + 15000;
    int last = -1;
    long long stable_since = now_ms();
    while (now_ms() < end) {
        int n = atomic_load(&callbacks);
        if (n != last) {
            last = n;
            stable_since = now_ms();
        }
        if (n >= submitted || now_ms() - stable_since > 2000)
            break;
        sleep_ms(10);
    }
    fprintf(stderr, "submitted=%d refused=%d ok=%d eagain=%d callbacks=%d\n", submitted, refused, ok,
            eagain, atomic_load(&callbacks));
    /* the limit lifted: AIO works again, notifications included */
    struct rlimit big = { RLIM_INFINITY, RLIM_INFINITY };
    if (setrlimit(RLIMIT_NPROC, &big) != 0) {
        /* unprivileged: cannot raise the hard limit; keep it */
    }
    int before = atomic_load(&callbacks);
    struct aiocb last_cb;
    static char lb[4096];
    cb_init(&last_cb, fd, lb, 4096, 0);
    int e = -1;
    for (int tries = 0; tries < 100; tries++) {
        if (aio_read(&last_cb) == 0) {
            e = wait_done(&last_cb, LONG_MS);
            break;
        }
        sleep_ms(20);
    }
    printf("a later aio_read works: %d\n", e == 0 && aio_return(&last_cb) == 4096 && check_pat(lb, 4096, 0));
    (void)before;
    sleep_ms(100); /* let detached callback threads finish */
    unlink("nproc.dat");
    return rel_exit();
}
