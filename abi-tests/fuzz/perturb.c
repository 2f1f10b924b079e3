/* fuzz.py --selftest: an LD_PRELOAD library that wraps glibc's POSIX AIO and
 * breaks one behaviour, chosen by FUZZ_PERTURB, so that the self-test can
 * check that the fuzzer notices.  Never used on its own.
 *
 *   return     aio_return of a positive result is one too large
 *   error      aio_error reports ECANCELED as EINTR
 *   cancel     aio_cancel reports AIO_CANCELED as AIO_NOTCANCELED
 *   nosignal   SIGEV_SIGNAL requests (aio_read/aio_write) notify nothing
 *   offset     aio_write writes one byte further than asked
 *   lioorder   lio_listio submits its list backwards
 *   suspend0   aio_suspend with a zero timeout never sees finished requests
 *   fields     aio_fsync leaves aio_reqprio alone (glibc zeroes it)
 */
#define _GNU_SOURCE
#include <aio.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int on(const char *m)
{
    const char *e = getenv("FUZZ_PERTURB");
    return e && strcmp(e, m) == 0;
}

#define REAL(ret, name, args)                                                \
    static ret(*real_##name) args;                                           \
    if (!real_##name)                                                        \
        *(void **)&real_##name = dlsym(RTLD_NEXT, #name);

static ssize_t do_return(struct aiocb *cb, int is64)
{
    REAL(ssize_t, aio_return, (struct aiocb *))
    REAL(ssize_t, aio_return64, (struct aiocb *))
    ssize_t r = is64 ? real_aio_return64(cb) : real_aio_return(cb);
    if (on("return") && r > 0)
        r++;
    return r;
}
ssize_t aio_return(struct aiocb *cb) { return do_return(cb, 0); }
ssize_t aio_return64(struct aiocb64 *cb) { return do_return((struct aiocb *)cb, 1); }

static int do_error(const struct aiocb *cb, int is64)
{
    REAL(int, aio_error, (const struct aiocb *))
    REAL(int, aio_error64, (const struct aiocb *))
    int r = is64 ? real_aio_error64(cb) : real_aio_error(cb);
    if (on("error") && r == ECANCELED)
        r = EINTR;
    return r;
}
int aio_error(const struct aiocb *cb) { return do_error(cb, 0); }
int aio_error64(const struct aiocb64 *cb) { return do_error((const struct aiocb *)cb, 1); }

static int do_cancel(int fd, struct aiocb *cb, int is64)
{
    REAL(int, aio_cancel, (int, struct aiocb *))
    REAL(int, aio_cancel64, (int, struct aiocb *))
    int r = is64 ? real_aio_cancel64(fd, cb) : real_aio_cancel(fd, cb);
    if (on("cancel") && r == AIO_CANCELED)
        r = AIO_NOTCANCELED;
    return r;
}
int aio_cancel(int fd, struct aiocb *cb) { return do_cancel(fd, cb, 0); }
int aio_cancel64(int fd, struct aiocb64 *cb) { return do_cancel(fd, (struct aiocb *)cb, 1); }

static int do_rw(struct aiocb *cb, int write, int is64)
{
    REAL(int, aio_read, (struct aiocb *))
    REAL(int, aio_read64, (struct aiocb *))
    REAL(int, aio_write, (struct aiocb *))
    REAL(int, aio_write64, (struct aiocb *))
    if (on("nosignal") && cb->aio_sigevent.sigev_notify == SIGEV_SIGNAL)
        cb->aio_sigevent.sigev_notify = SIGEV_NONE;
    if (on("offset") && write && cb->aio_offset > 0 && cb->aio_offset < (1 << 30))
        cb->aio_offset++;
    if (write)
        return is64 ? real_aio_write64(cb) : real_aio_write(cb);
    return is64 ? real_aio_read64(cb) : real_aio_read(cb);
}
int aio_read(struct aiocb *cb) { return do_rw(cb, 0, 0); }
int aio_read64(struct aiocb64 *cb) { return do_rw((struct aiocb *)cb, 0, 1); }
int aio_write(struct aiocb *cb) { return do_rw(cb, 1, 0); }
int aio_write64(struct aiocb64 *cb) { return do_rw((struct aiocb *)cb, 1, 1); }

static int do_fsync(int op, struct aiocb *cb, int is64)
{
    REAL(int, aio_fsync, (int, struct aiocb *))
    REAL(int, aio_fsync64, (int, struct aiocb *))
    int prio = cb ? cb->aio_reqprio : 0;
    int r = is64 ? real_aio_fsync64(op, cb) : real_aio_fsync(op, cb);
    if (on("fields") && cb && r == 0)
        cb->aio_reqprio = prio;
    return r;
}
int aio_fsync(int op, struct aiocb *cb) { return do_fsync(op, cb, 0); }
int aio_fsync64(int op, struct aiocb64 *cb) { return do_fsync(op, (struct aiocb *)cb, 1); }

static int do_lio(int mode, struct aiocb *const list[], int nent, struct sigevent *sig, int is64)
{
    REAL(int, lio_listio, (int, struct aiocb *const[], int, struct sigevent *))
    REAL(int, lio_listio64, (int, struct aiocb *const[], int, struct sigevent *))
    struct aiocb *rev[64];
    if (on("lioorder") && nent > 1 && nent <= 64) {
        for (int i = 0; i < nent; i++)
            rev[i] = list[nent - 1 - i];
        list = rev;
    }
    return is64 ? real_lio_listio64(mode, list, nent, sig) : real_lio_listio(mode, list, nent, sig);
}
int lio_listio(int mode, struct aiocb *const list[], int nent, struct sigevent *sig)
{
    return do_lio(mode, list, nent, sig, 0);
}
int lio_listio64(int mode, struct aiocb64 *const list[], int nent, struct sigevent *sig)
{
    return do_lio(mode, (struct aiocb *const *)list, nent, sig, 1);
}

static int do_suspend(const struct aiocb *const list[], int nent, const struct timespec *t, int is64)
{
    REAL(int, aio_suspend, (const struct aiocb *const[], int, const struct timespec *))
    REAL(int, aio_suspend64, (const struct aiocb *const[], int, const struct timespec *))
    if (on("suspend0") && t && t->tv_sec == 0 && t->tv_nsec == 0) {
        errno = EAGAIN;
        return -1;
    }
    return is64 ? real_aio_suspend64(list, nent, t) : real_aio_suspend(list, nent, t);
}
int aio_suspend(const struct aiocb *const list[], int nent, const struct timespec *t)
{
    return do_suspend(list, nent, t, 0);
}
int aio_suspend64(const struct aiocb64 *const list[], int nent, const struct timespec *t)
{
    return do_suspend((const struct aiocb *const *)list, nent, t, 1);
}
