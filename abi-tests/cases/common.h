/* Shared helpers for the ABI behaviour cases.
 *
 * Every case prints a deterministic transcript on stdout: calls, return
 * values and errno NAMES (never numbers, timings, pids or addresses).  The
 * runner (../run.sh) builds each case twice (plain and with
 * -D_FILE_OFFSET_BITS=64, so the *64 entry points are called), runs it under
 * glibc and under LD_PRELOAD=libaio_shim.so, and diffs the transcripts.
 *
 * Rules for writing a case:
 *  - print only what glibc fixes: no "is it done yet" right after a submit
 *    unless the request cannot complete (an empty pipe);
 *  - every wait is bounded (wait_done(), wait_signal(), ...); a watchdog
 *    thread ends the process after WATCHDOG_SECONDS in any case;
 *  - temporary files live in the current directory (the runner's scratch
 *    directory on a real disk, so O_DIRECT works) and are unlinked at once.
 */
#ifndef ABI_COMMON_H
#define ABI_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* glibc 2.36 does not name the SIGEV_THREAD_ID target field. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif
#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID 4
#endif

#define WATCHDOG_SECONDS 45
#define LONG_MS 10000 /* generous bound for things that must happen */

/* ------------------------------------------------------------------ */
/* errno and signal names                                              */

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

static inline const char *signame(int sig)
{
    static __thread char buf[32];
    if (sig == 0)
        return "0";
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        snprintf(buf, sizeof buf, "SIGRTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    const char *a = sigabbrev_np(sig);
    if (a) {
        snprintf(buf, sizeof buf, "SIG%s", a);
        return buf;
    }
    snprintf(buf, sizeof buf, "SIG?%d", sig);
    return buf;
}

static inline const char *cancel_name(int r)
{
    switch (r) {
    case AIO_CANCELED: return "AIO_CANCELED";
    case AIO_NOTCANCELED: return "AIO_NOTCANCELED";
    case AIO_ALLDONE: return "AIO_ALLDONE";
    case -1: return "-1";
    default: return "?";
    }
}

/* ------------------------------------------------------------------ */
/* fatal errors in the test itself (not in the code under test)        */

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

/* Print "label = R" and, when R is -1, the errno name captured right after
 * the call.  Use: SHOW("aio_read(&cb)", aio_read(&cb)); */
#define SHOW(label, expr)                                                    \
    do {                                                                     \
        errno = 0;                                                           \
        long _r = (long)(expr);                                              \
        int _e = errno;                                                      \
        if (_r == -1)                                                        \
            printf("%s = -1 errno=%s\n", (label), en(_e));                   \
        else                                                                 \
            printf("%s = %ld\n", (label), _r);                               \
    } while (0)

/* Same for aio_cancel, printing the AIO_* name. */
#define SHOW_CANCEL(label, expr)                                             \
    do {                                                                     \
        errno = 0;                                                           \
        int _r = (expr);                                                     \
        int _e = errno;                                                      \
        if (_r == -1)                                                        \
            printf("%s = -1 errno=%s\n", (label), en(_e));                   \
        else                                                                 \
            printf("%s = %s\n", (label), cancel_name(_r));                   \
    } while (0)

/* aio_error + aio_return of a finished request */
static inline void show_cb(const char *label, struct aiocb *cb)
{
    int e = aio_error(cb);
    ssize_t r = aio_return(cb);
    printf("%s: aio_error=%s aio_return=%zd\n", label, en(e), r);
}

/* ------------------------------------------------------------------ */
/* time                                                                */

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

/* ------------------------------------------------------------------ */
/* waiting for requests (polling aio_error, bounded)                   */

/* Returns the final aio_error value, or EINPROGRESS on timeout. */
static inline int wait_done(struct aiocb *cb, long timeout_ms)
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

/* Waits for all non-NULL entries; returns how many are still in progress. */
static inline int wait_all(struct aiocb *const *cbs, int n, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int i = 0;
    long spin = 0;
    while (i < n) {
        if (cbs[i] == NULL || aio_error(cbs[i]) != EINPROGRESS) {
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
        if (cbs[j] && aio_error(cbs[j]) == EINPROGRESS)
            left++;
    return left;
}

/* Same over an array of aiocb structs. */
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

/* Wait until *flag becomes >= want (set from another thread / handler). */
static inline int wait_flag(atomic_int *flag, int want, long timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (atomic_load(flag) < want) {
        if (now_ms() > end)
            return 0;
        sleep_us(200);
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* signals                                                             */

static inline void block_signal(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK(pthread_sigmask(SIG_BLOCK, &s, NULL) == 0);
}

/* sigtimedwait with a bound.  Returns the signal number, or 0 on timeout. */
static inline int wait_signal(int sig, long timeout_ms, siginfo_t *si)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };
    siginfo_t tmp;
    if (!si)
        si = &tmp;
    for (;;) {
        int r = sigtimedwait(&s, si, &ts);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return 0;
    }
}

/* Drain a (blocked) signal: count how many instances are pending,
 * waiting up to settle_ms for stragglers. */
static inline int drain_signal(int sig, long settle_ms)
{
    int n = 0;
    while (wait_signal(sig, settle_ms, NULL) == sig)
        n++;
    return n;
}

static inline void print_siginfo(const char *label, const siginfo_t *si)
{
    printf("%s: si_signo=%s si_code_is_SI_ASYNCIO=%d si_pid_is_self=%d "
           "si_uid_is_self=%d si_value.sival_int=%d\n",
           label, signame(si->si_signo), si->si_code == SI_ASYNCIO,
           si->si_pid == getpid(), si->si_uid == getuid(),
           si->si_value.sival_int);
}

/* ------------------------------------------------------------------ */
/* files                                                               */

/* Byte pattern of the test files: a function of the file offset. */
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

/* Create a file in the current directory holding `size` bytes of pattern,
 * open it again with exactly `open_flags` (unless it is -1: keep the O_RDWR
 * descriptor), unlink it, return the fd.  Returns -1 with errno set if the
 * reopen fails (e.g. O_DIRECT: EINVAL). */
static inline int make_file_flags(size_t size, int open_flags)
{
    char name[] = "abi-tmp-XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    if (size) {
        size_t chunk = 1 << 16;
        unsigned char *buf = malloc(chunk);
        CHECK(buf);
        for (size_t off = 0; off < size; off += chunk) {
            size_t n = size - off < chunk ? size - off : chunk;
            fill_pat(buf, n, (off_t)off);
            write_all(fd, buf, n, (off_t)off);
        }
        free(buf);
    }
    int fd2 = fd;
    if (open_flags != -1) {
        fd2 = open(name, open_flags);
        int e = errno;
        close(fd);
        if (fd2 < 0) {
            unlink(name);
            errno = e;
            return -1;
        }
    }
    unlink(name);
    return fd2;
}

static inline int make_file(size_t size)
{
    return make_file_flags(size, -1);
}

/* O_DIRECT file or a skip.  The skip line is identical in every run. */
static inline int make_direct_file(size_t size)
{
    int fd = make_file_flags(size, O_RDWR | O_DIRECT);
    if (fd < 0) {
        if (errno == EINVAL) {
            printf("SKIP: O_DIRECT not supported on this filesystem\n");
            exit(0);
        }
        die("open O_DIRECT: %s", en(errno));
    }
    return fd;
}

static inline void *aligned_buf(size_t n)
{
    void *p = NULL;
    CHECK(posix_memalign(&p, 4096, n) == 0);
    memset(p, 0, n);
    return p;
}

static inline off_t file_size(int fd)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    return st.st_size;
}

/* An fd number that is certainly not open (high, so that no descriptor the
 * implementation opens lazily can take it). */
static inline int closed_fd(void)
{
    int fd = 987654;
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    return fd;
}

/* ------------------------------------------------------------------ */
/* aiocb set-up                                                        */

static inline void cb_init(struct aiocb *cb, int fd, void *buf, size_t n,
                           off_t off)
{
    memset(cb, 0, sizeof *cb);
    cb->aio_fildes = fd;
    cb->aio_buf = buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

static inline void cb_signal(struct aiocb *cb, int sig, int value)
{
    cb->aio_sigevent.sigev_notify = SIGEV_SIGNAL;
    cb->aio_sigevent.sigev_signo = sig;
    cb->aio_sigevent.sigev_value.sival_int = value;
}

/* ------------------------------------------------------------------ */
/* watchdog: a signal-blocking thread that ends a stuck test            */

static void *abi_watchdog(void *arg)
{
    (void)arg;
    sleep_ms(WATCHDOG_SECONDS * 1000L);
    static const char msg[] = "WATCHDOG: test exceeded its time bound\n";
    fflush(stdout);
    if (write(1, msg, sizeof msg - 1) < 0) {
    }
    _exit(98);
    return NULL;
}

__attribute__((constructor)) static void abi_common_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    if (pthread_create(&t, &a, abi_watchdog, NULL) != 0)
        die("watchdog thread");
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

#endif
