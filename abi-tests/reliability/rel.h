/* Shared helpers for the reliability programs (abi-tests/reliability/).
 *
 * Conventions (as in abi-tests/cases/common.h):
 *  - a program prints a transcript on stdout that is the same under glibc
 *    and under the shim: results, errno NAMES, booleans; never timings,
 *    pids, addresses or counts that depend on scheduling;
 *  - "BAD ..." lines are failures the program detected itself (data lost,
 *    a wrong result, a request that never completed); "FATAL ..." is an
 *    error of the test itself; the runner fails a run that prints either;
 *  - every wait is bounded; a watchdog thread ends the process with exit
 *    status 98 after REL_WATCHDOG seconds (environment, default 60);
 *  - the program never looks at whether the shim is loaded: the runner
 *    proves that from the shim's stats (or, for processes killed with
 *    SIGKILL, from the shim's thread names, see shim_threads()).
 */
#ifndef REL_H
#define REL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LONG_MS 10000 /* bound for things that must happen */

static inline const char *en(int e)
{
    static __thread char buf[32];
    if (e == 0)
        return "0";
    const char *n = strerrorname_np(e);
    if (n)
        return n;
    snprintf(buf, sizeof buf, "E?%d", e);
    return buf;
}

static inline void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    printf("FATAL: ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    exit(2);
}

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            die("%s:%d: check failed: %s (errno %s)", __FILE__, __LINE__,    \
                #cond, en(errno));                                           \
    } while (0)

static atomic_int rel_bad;
/* A failure of the code under test: printed, counted, the run goes on. */
#define BAD(...)                                                             \
    do {                                                                     \
        atomic_fetch_add(&rel_bad, 1);                                       \
        printf("BAD: " __VA_ARGS__);                                         \
        printf("\n");                                                        \
    } while (0)

static inline long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static inline void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* aio_error until it is not EINPROGRESS; EINPROGRESS after timeout_ms. */
static inline int wait_done(const struct aiocb *cb, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    long spin = 0;
    for (;;) {
        int e = aio_error(cb);
        if (e != EINPROGRESS)
            return e;
        if (now_ms() > end)
            return EINPROGRESS;
        if (++spin > 100)
            sleep_us(200);
    }
}

/* Waits for all entries of an array of aiocbs; returns how many are left. */
static inline int wait_array(struct aiocb *cbs, int n, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int i = 0;
    long spin = 0;
    while (i < n) {
        if (aio_error(&cbs[i]) != EINPROGRESS) {
            i++;
            continue;
        }
        if (now_ms() > end)
            break;
        if (++spin > 100)
            sleep_us(200);
    }
    int left = 0;
    for (int j = 0; j < n; j++)
        if (aio_error(&cbs[j]) == EINPROGRESS)
            left++;
    return left;
}

static inline void cb_init(struct aiocb *cb, int fd, void *buf, size_t n, off_t off)
{
    memset(cb, 0, sizeof *cb);
    cb->aio_fildes = fd;
    cb->aio_buf = buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

/* ------------------------------------------------------------------ */
/* data                                                                */

static inline unsigned char pat(off_t off)
{
    uint64_t x = (uint64_t)off;
    return (unsigned char)((x * 131u) ^ (x >> 8) ^ (x >> 16) ^ 0x5a);
}

static inline void fill_pat(void *buf, size_t n, off_t off)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = pat(off + (off_t)i);
}

static inline int check_pat(const void *buf, size_t n, off_t off)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        if (p[i] != pat(off + (off_t)i))
            return 0;
    return 1;
}

static inline uint32_t crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static inline void *aligned_buf(size_t n)
{
    void *p = NULL;
    CHECK(posix_memalign(&p, 4096, n) == 0);
    memset(p, 0, n);
    return p;
}

static inline void write_all(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        CHECK(w > 0);
        p += w;
        n -= (size_t)w;
        off += w;
    }
}

/* A file of `size` pattern bytes at `path`, reopened with `flags`. */
static inline int make_file_at(const char *path, size_t size, int flags)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    size_t chunk = 1 << 16;
    unsigned char *buf = malloc(chunk);
    CHECK(buf);
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        fill_pat(buf, n, (off_t)off);
        write_all(fd, buf, n, (off_t)off);
    }
    free(buf);
    close(fd);
    fd = open(path, flags | O_CLOEXEC);
    return fd;
}

/* ------------------------------------------------------------------ */
/* process facts                                                        */

/* Threads of this process whose name starts with `prefix`. */
static inline int count_threads(const char *prefix)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[300], name[64] = "";
        snprintf(p, sizeof p, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(p, "re");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f) && strncmp(name, prefix, strlen(prefix)) == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static inline long vm_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* ------------------------------------------------------------------ */
/* watchdog                                                             */

#ifndef REL_NO_WATCHDOG
static void *rel_watchdog(void *arg)
{
    long s = (long)(intptr_t)arg;
    sleep_ms(s * 1000L);
    static const char msg[] = "WATCHDOG: test exceeded its time bound\n";
    fflush(stdout);
    if (write(1, msg, sizeof msg - 1) < 0) {
    }
    _exit(98);
    return NULL;
}

__attribute__((constructor)) static void rel_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *w = getenv("REL_WATCHDOG");
    long s = w ? atol(w) : 60;
    if (s <= 0)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    if (pthread_create(&t, &a, rel_watchdog, (void *)(intptr_t)s) != 0)
        die("watchdog thread");
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}
#endif

/* Exit status: 0, or 1 if any BAD was printed. */
static inline int rel_exit(void)
{
    fflush(stdout);
    return atomic_load(&rel_bad) ? 1 : 0;
}

#endif
