/* Differential-fuzzing driver: executes a sequence of POSIX AIO operations
 * read from a file (argv[1]) or stdin and prints a deterministic transcript.
 *
 * The sequence is produced by fuzz.py, which models what glibc fixes and
 * tells the driver, per operation, whether the result is determined
 * ("det=1") or not.  Undetermined results are printed on lines starting
 * with "~"; fuzz.py compares those with a tolerance (see README.md in this
 * directory).  Everything else must be identical under glibc and the shim.
 *
 * Resources (opened in this order, before the first AIO call):
 *   F G   regular files, O_RDWR            A  regular file, O_RDWR|O_APPEND
 *   R     regular file, O_RDONLY           D  regular file, O_RDWR|O_DIRECT
 *                                             (plain O_RDWR if unsupported)
 *   PR    read end of a pipe (the driver feeds its write end)
 *   PW    write end of a pipe (the driver drains its read end at the end)
 *   S     one end of a socketpair (the driver feeds / drains the other end)
 *   NEG   -1      CLOSED  an fd number that is not open (900)
 *   HUGE  987654321 (above any fd limit)
 *
 * Operations (one per line, "key=value" words; '#' starts a comment):
 *   setup F=size G=size A=size R=size D=size
 *   read|write c=SLOT fd=FD off=N len=N buf=BUF prio=N sig=SIG
 *   fsync c=SLOT fd=FD op=sync|dsync|N prio=N sig=SIG
 *   lio mode=wait|nowait|N nent=N sig=SIG|null e=ENTRY e=ENTRY ...
 *        ENTRY = null | SLOT/OPCODE/FD/OFF/LEN/BUF/PRIO/SIG
 *   cancel fd=FD c=SLOT|null det=0|1
 *   suspend cs=SLOT|null,... t=null|0|neg|negns|ms:N|s:N det=0|1
 *   error c=SLOT det=0|1         return c=SLOT det=0|1
 *   wait c=SLOT mc=0|1           (bounded; mc=1: maybe cancelled by a race)
 *   fields c=SLOT                (aiocb fields the implementation writes)
 *   feed fd=PR|S len=N           (the driver writes N bytes to the peer)
 *   drain fd=PR|S                (read and drop what is readable on the fd)
 *   repair fd=F|G|D off=N len=N  (overwrite a range a cancel race left open)
 *   end                          (notifications, files, streams)
 *   BUF = norm | unal:K | null | bad (PROT_NONE) | ro (read-only page)
 *   SIG = none | sig:K (SIGRTMIN+K) | badsig:N | zero | thread | threadattr
 *         | bogus:N (sigev_notify = N)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <aio.h>
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define NSLOTS 16
#define BUFCAP (72 * 1024)  /* per slot; lengths beyond it only with bad buffers */
#define MAXIDS 8192         /* request ids < 4096, list ids 4096 + k */
#define LIO_ID_BASE 4096
#define MAXLIO 16
#define WAIT_MS 5000        /* bound of every wait; FUZZ_WAIT_MS overrides */
#define WATCHDOG_S 30

/* ------------------------------------------------------------------ */
/* names, output                                                       */

static const char *en(int e)
{
    static __thread char b[32];
    if (e == 0)
        return "0";
    const char *n = strerrorname_np(e);
    if (n)
        return n;
    snprintf(b, sizeof b, "E?%d", e);
    return b;
}

static const char *cancel_name(int r)
{
    switch (r) {
    case AIO_CANCELED: return "AIO_CANCELED";
    case AIO_NOTCANCELED: return "AIO_NOTCANCELED";
    case AIO_ALLDONE: return "AIO_ALLDONE";
    default: return "AIO_?";
    }
}

static int lineno;
static long wait_ms = WAIT_MS;

static void bug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    printf("BUG (sequence line %d): ", lineno);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    exit(2);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ */
/* hashing                                                             */

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static unsigned char patb(uint64_t key, uint64_t i)
{
    return (unsigned char)(mix64(key * 0x100000001b3ull + i) >> 24);
}

/* ------------------------------------------------------------------ */
/* resources                                                           */

enum { FD_F, FD_G, FD_A, FD_R, FD_D, FD_PR, FD_PW, FD_S, FD_NEG, FD_CLOSED, FD_HUGE, NFDSYM };
static const char *fdnames[NFDSYM] = { "F", "G", "A", "R", "D", "PR", "PW", "S", "NEG", "CLOSED", "HUGE" };
static int fds[NFDSYM];
static int ctl[5];             /* O_RDWR descriptors of the five files (repair, checksum) */
static int pr_feed, pw_drain, s_peer;
static int have_direct;

static int fdsym(const char *s)
{
    for (int i = 0; i < NFDSYM; i++)
        if (strcmp(s, fdnames[i]) == 0)
            return i;
    bug("unknown fd '%s'", s);
    return -1;
}

static struct aiocb cbs[NSLOTS];
static unsigned char *bufs[NSLOTS];
static unsigned char *badmem, *romem;
static pthread_attr_t thr_attr;

/* per request id */
struct req {
    int used;
    int slot;
    int badsig;          /* SIGEV_SIGNAL with an invalid signal number */
    int cancel_seen;     /* some aio_cancel reported AIO_CANCELED for it */
    int not_cancelled;   /* a cancel said NOTCANCELED/ALLDONE: must not end ECANCELED */
    int observed;        /* first non-EINPROGRESS aio_error seen by an "error" op, or -1 */
    unsigned char *buf;  /* valid buffer to hash at completion, or NULL */
    size_t len;
};
static struct req reqs[MAXIDS];
static int slot_req[NSLOTS];   /* request id last submitted from a slot, -1 none */
static int next_id, next_lio;

/* notifications */
static atomic_int thr_count[MAXIDS], sig_count[2][MAXIDS], sig_badcode[2][MAXIDS];
static atomic_int thr_total, sig_total, notif_other;
static int expect_thr, expect_sig;
static int SIGA, SIGB;   /* SIGRTMIN+1, SIGRTMIN+2 */

static void count_signal(int sig, const siginfo_t *si)
{
    int k = sig == SIGA ? 0 : sig == SIGB ? 1 : -1;
    int id = si->si_value.sival_int;
    if (k < 0 || id < 0 || id >= MAXIDS) {
        atomic_fetch_add(&notif_other, 1);
    } else {
        atomic_fetch_add(&sig_count[k][id], 1);
        if (si->si_code != SI_ASYNCIO)
            atomic_fetch_add(&sig_badcode[k][id], 1);
    }
    atomic_fetch_add(&sig_total, 1);
}

/* Delivered only in threads that unblock the signals (glibc's SIGEV_THREAD
 * threads run with an empty mask); the main thread blocks them and drains
 * them with sigtimedwait at the end. */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    count_signal(sig, si);
}

static void notify_fn(union sigval v)
{
    int id = v.sival_int;
    if (id >= 0 && id < MAXIDS)
        atomic_fetch_add(&thr_count[id], 1);
    else
        atomic_fetch_add(&notif_other, 1);
    atomic_fetch_add(&thr_total, 1);
}

static void *watchdog(void *arg)
{
    (void)arg;
    sleep_us(WATCHDOG_S * 1000000L);
    static const char msg[] = "WATCHDOG: sequence exceeded its time bound\n";
    fflush(stdout);
    if (write(1, msg, sizeof msg - 1) < 0) {
    }
    _exit(98);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* parsing                                                             */

#define MAXW 64
static char *words[MAXW];
static int nwords;

static const char *opt(const char *key)
{
    size_t k = strlen(key);
    for (int i = 1; i < nwords; i++)
        if (strncmp(words[i], key, k) == 0 && words[i][k] == '=')
            return words[i] + k + 1;
    return NULL;
}

static const char *need(const char *key)
{
    const char *v = opt(key);
    if (!v)
        bug("missing %s=", key);
    return v;
}

static long long num(const char *s)
{
    char *end;
    errno = 0;
    long long v;
    if (s[0] == '-')
        v = strtoll(s, &end, 10);
    else
        v = (long long)strtoull(s, &end, 10);
    if (errno || *end || end == s)
        bug("bad number '%s'", s);
    return v;
}

static int slotnum(const char *s)
{
    long long v = num(s);
    if (v < 0 || v >= NSLOTS)
        bug("bad slot %s", s);
    return (int)v;
}

/* ------------------------------------------------------------------ */
/* building aiocbs                                                     */

enum { K_READ, K_WRITE, K_OTHER };

/* buf spec -> pointer; *hashable set when it is a slot buffer that can
 * hold len bytes */
static void *mkbuf(int slot, const char *spec, size_t len, int *hashable)
{
    *hashable = 0;
    if (strcmp(spec, "norm") == 0 || strncmp(spec, "unal:", 5) == 0) {
        size_t off = spec[0] == 'u' ? (size_t)num(spec + 5) : 0;
        if (off >= 4096)
            bug("unal offset too large");
        *hashable = len <= BUFCAP - off;
        return bufs[slot] + off;
    }
    if (strcmp(spec, "null") == 0)
        return NULL;
    if (strcmp(spec, "bad") == 0)
        return badmem;
    if (strcmp(spec, "ro") == 0)
        return romem;
    bug("bad buf '%s'", spec);
    return NULL;
}

static int is_badsig(const char *sig)
{
    return strncmp(sig, "badsig:", 7) == 0;
}

/* fills the sigevent; returns 1 when a signal, 2 when a thread
 * notification is expected (if the request is accepted) */
static int mksig(struct sigevent *se, const char *spec, int id)
{
    memset(se, 0, sizeof *se);
    se->sigev_signo = SIGA;
    se->sigev_value.sival_int = id;
    se->sigev_notify_function = notify_fn;
    se->sigev_notify_attributes = NULL;
    if (strcmp(spec, "none") == 0) {
        se->sigev_notify = SIGEV_NONE;
        return 0;
    }
    if (strncmp(spec, "sig:", 4) == 0) {
        long long k = num(spec + 4);
        if (k != 1 && k != 2)
            bug("sig:K with K 1 or 2");
        se->sigev_notify = SIGEV_SIGNAL;
        se->sigev_signo = k == 1 ? SIGA : SIGB;
        return 1;
    }
    if (is_badsig(spec)) {
        se->sigev_notify = SIGEV_SIGNAL;
        se->sigev_signo = (int)num(spec + 7);
        return 0;
    }
    if (strcmp(spec, "zero") == 0) {
        se->sigev_notify = SIGEV_SIGNAL;
        se->sigev_signo = 0;
        return 0;
    }
    if (strcmp(spec, "thread") == 0) {
        se->sigev_notify = SIGEV_THREAD;
        return 2;
    }
    if (strcmp(spec, "threadattr") == 0) {
        se->sigev_notify = SIGEV_THREAD;
        se->sigev_notify_attributes = &thr_attr;
        return 2;
    }
    if (strncmp(spec, "bogus:", 6) == 0) {
        se->sigev_notify = (int)num(spec + 6);
        return 0;
    }
    bug("bad sig '%s'", spec);
    return 0;
}

static void expect(int kind)
{
    if (kind == 1)
        expect_sig++;
    else if (kind == 2)
        expect_thr++;
}

/* Prepare slot for a new request; returns the request id. */
static int prep(int slot, int fdi, long long off, unsigned long long len, const char *bufspec,
                long long prio, const char *sig, int kind, int *notif)
{
    if (next_id >= LIO_ID_BASE)
        bug("too many requests");
    int id = next_id++;
    struct aiocb *cb = &cbs[slot];
    memset(cb, 0, sizeof *cb);
    int hashable;
    void *buf = mkbuf(slot, bufspec, (size_t)len, &hashable);
    if (hashable) {
        if (kind == K_WRITE)
            for (size_t i = 0; i < len; i++)
                ((unsigned char *)buf)[i] = patb((uint64_t)id + 1000, i);
        else
            memset(buf, 0xee, (size_t)len);
    }
    cb->aio_fildes = fds[fdi];
    cb->aio_buf = buf;
    cb->aio_nbytes = (size_t)len;
    cb->aio_offset = (off_t)off;
    cb->aio_reqprio = (int)prio;
    *notif = mksig(&cb->aio_sigevent, sig, id);
    struct req *r = &reqs[id];
    memset(r, 0, sizeof *r);
    r->used = 1;
    r->slot = slot;
    r->badsig = is_badsig(sig);
    r->observed = -1;
    r->buf = hashable ? buf : NULL;
    r->len = (size_t)len;
    slot_req[slot] = id;
    return id;
}

static void print_rc(int r, int e)
{
    if (r == -1)
        printf(" -> -1 %s\n", en(e));
    else
        printf(" -> %d\n", r);
}

/* echo of the current op line (words joined) */
static void echo(const char *prefix)
{
    printf("%s", prefix);
    for (int i = 0; i < nwords; i++) {
        if (strncmp(words[i], "det=", 4) == 0 || strncmp(words[i], "mc=", 3) == 0)
            continue;
        printf("%s%s", i ? " " : "", words[i]);
    }
}

static const char *slotlabel(int slot)
{
    static char b[4][32];
    static int k;
    k = (k + 1) & 3;
    if (slot_req[slot] < 0)
        snprintf(b[k], sizeof b[k], "c%d(unused)", slot);
    else
        snprintf(b[k], sizeof b[k], "c%d(r%d)", slot, slot_req[slot]);
    return b[k];
}

/* ------------------------------------------------------------------ */
/* operations                                                          */

static void op_setup(void)
{
    static const char *names[5] = { "F", "G", "A", "R", "D" };
    for (int i = 0; i < 5; i++) {
        long long size = num(need(names[i]));
        char path[32];
        snprintf(path, sizeof path, "%s.dat", names[i]);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            bug("create %s: %s", path, en(errno));
        unsigned char *b = malloc(65536);
        for (long long o = 0; o < size; o += 65536) {
            size_t n = size - o < 65536 ? (size_t)(size - o) : 65536;
            for (size_t j = 0; j < n; j++)
                b[j] = patb(77 + i, (uint64_t)o + j);
            if (pwrite(fd, b, n, o) != (ssize_t)n)
                bug("fill %s", path);
        }
        free(b);
        ctl[i] = fd;
    }
    fds[FD_F] = open("F.dat", O_RDWR);
    fds[FD_G] = open("G.dat", O_RDWR);
    fds[FD_A] = open("A.dat", O_RDWR | O_APPEND);
    fds[FD_R] = open("R.dat", O_RDONLY);
    fds[FD_D] = open("D.dat", O_RDWR | O_DIRECT);
    have_direct = fds[FD_D] >= 0;
    if (!have_direct)
        fds[FD_D] = open("D.dat", O_RDWR);
    int p[2], q[2], s[2];
    if (pipe(p) || pipe(q) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
        bug("pipe/socketpair: %s", en(errno));
    fds[FD_PR] = p[0];
    pr_feed = p[1];
    pw_drain = q[0];
    fds[FD_PW] = q[1];
    fds[FD_S] = s[0];
    s_peer = s[1];
    fcntl(pr_feed, F_SETFL, O_NONBLOCK);
    fcntl(pw_drain, F_SETFL, O_NONBLOCK);
    fcntl(s_peer, F_SETFL, O_NONBLOCK);
    fds[FD_NEG] = -1;
    fds[FD_CLOSED] = 900;
    if (dup2(ctl[0], 900) != 900 || close(900) != 0)
        bug("dup2/close 900");
    fds[FD_HUGE] = 987654321;
    for (int i = 0; i < NFDSYM; i++)
        if (i < FD_NEG && fds[i] < 0)
            bug("open %s: %s", fdnames[i], en(errno));
    /* printed, so that glibc and the shim compare on the same footing */
    printf("setup F=%s G=%s A=%s R=%s D=%s o_direct=%d\n", need("F"), need("G"), need("A"), need("R"),
           need("D"), have_direct);
}

static void op_submit(int kind)
{
    int slot = slotnum(need("c"));
    int fdi = fdsym(need("fd"));
    int notif;
    int id;
    errno = 0;
    int r, e;
    if (kind == K_OTHER) { /* fsync */
        const char *o = need("op");
        int op = strcmp(o, "sync") == 0 ? O_SYNC : strcmp(o, "dsync") == 0 ? O_DSYNC : (int)num(o);
        id = prep(slot, fdi, 0, 0, "null", num(need("prio")), need("sig"), K_OTHER, &notif);
        errno = 0;
        r = aio_fsync(op, &cbs[slot]);
        e = errno;
    } else {
        id = prep(slot, fdi, num(need("off")), (unsigned long long)num(need("len")), need("buf"),
                  num(need("prio")), need("sig"), kind, &notif);
        errno = 0;
        r = kind == K_READ ? aio_read(&cbs[slot]) : aio_write(&cbs[slot]);
        e = errno;
    }
    if (r == 0)
        expect(notif);
    char p[16];
    snprintf(p, sizeof p, "r%d ", id);
    echo(p);
    print_rc(r, e);
}

static void op_lio(void)
{
    const char *m = need("mode");
    int mode = strcmp(m, "wait") == 0 ? LIO_WAIT : strcmp(m, "nowait") == 0 ? LIO_NOWAIT : (int)num(m);
    int nent = (int)num(need("nent"));
    struct aiocb *list[MAXLIO];
    int n = 0, notifs[MAXLIO], enq[MAXLIO];
    int lid = LIO_ID_BASE + next_lio++;
    if (lid >= MAXIDS)
        bug("too many lio calls");
    printf("lio L%d mode=%s nent=%d sig=%s\n", lid - LIO_ID_BASE, m, nent, need("sig"));
    for (int i = 1; i < nwords; i++) {
        if (strncmp(words[i], "e=", 2) != 0)
            continue;
        if (n >= MAXLIO)
            bug("too many lio entries");
        char *spec = words[i] + 2;
        notifs[n] = 0;
        enq[n] = 0;
        if (strcmp(spec, "null") == 0) {
            printf("  [%d] null\n", n);
            list[n++] = NULL;
            continue;
        }
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", spec);
        char *parts[8];
        int np = 0;
        char *save = NULL;
        for (char *t = strtok_r(tmp, "/", &save); t && np < 8; t = strtok_r(NULL, "/", &save))
            parts[np++] = t;
        if (np != 8)
            bug("bad lio entry %s", spec);
        /* SLOT/OPCODE/FD/OFF/LEN/BUF/PRIO/SIG */
        int slot = slotnum(parts[0]);
        int opcode = (int)num(parts[1]);
        int fdi = fdsym(parts[2]);
        long long off = num(parts[3]);
        unsigned long long len = (unsigned long long)num(parts[4]);
        const char *bufspec = parts[5];
        long long prio = num(parts[6]);
        const char *sigspec = parts[7];
        int kind = (opcode & 127) == 0 ? K_READ : (opcode & 127) == 1 ? K_WRITE : K_OTHER;
        int id = prep(slot, fdi, off, len, bufspec, prio, sigspec, kind, &notifs[n]);
        cbs[slot].aio_lio_opcode = opcode;
        /* glibc's rule for what gets queued (only used to bound the final
         * wait for notifications) */
        enq[n] = opcode != LIO_NOP && (opcode == 3 || opcode == 4 || (prio >= 0 && prio <= AIO_PRIO_DELTA_MAX));
        printf("  [%d] r%d %s\n", n, id, spec);
        list[n++] = &cbs[slot];
    }
    struct sigevent lsig;
    int null_sig = strcmp(need("sig"), "null") == 0;
    int lnotif = null_sig ? 0 : mksig(&lsig, need("sig"), lid);
    if (nent > n)
        bug("nent > entries");
    errno = 0;
    int r = lio_listio(mode, list, nent, null_sig ? NULL : &lsig);
    int e = errno;
    if (mode == LIO_WAIT || mode == LIO_NOWAIT) {
        for (int i = 0; i < nent; i++)
            if (list[i] && enq[i])
                expect(notifs[i]);
        if (mode == LIO_NOWAIT)
            expect(lnotif);
    }
    printf("lio L%d", lid - LIO_ID_BASE);
    print_rc(r, e);
}

static void op_wait(void)
{
    int slot = slotnum(need("c"));
    int mc = opt("mc") && strcmp(opt("mc"), "1") == 0;
    int id = slot_req[slot];
    if (id < 0)
        bug("wait on an unused slot");
    struct aiocb *cb = &cbs[slot];
    const struct aiocb *l[1] = { cb };
    struct timespec t = { 0, 20 * 1000000L };
    long long end = now_ms() + wait_ms;
    int timed_out = 0;
    for (;;) {
        errno = 0;
        int r = aio_suspend(l, 1, &t);
        int e = errno;
        if (r == 0) {
            if (aio_error(cb) != EINPROGRESS)
                break;
            printf("wait %s: aio_suspend returned 0 but aio_error is EINPROGRESS\n", slotlabel(slot));
            sleep_us(1000);
        } else if (e != EAGAIN) {
            printf("wait %s: aio_suspend -> -1 %s\n", slotlabel(slot), en(e));
            sleep_us(1000);
        }
        if (now_ms() > end) {
            timed_out = 1;
            break;
        }
    }
    if (timed_out) {
        printf("wait %s: TIMEOUT (still EINPROGRESS after %ld ms)\n", slotlabel(slot), wait_ms);
        return;
    }
    int err = aio_error(cb);
    ssize_t ret = aio_return(cb);
    struct req *q = &reqs[id];
    printf("%swait %s = error=%s return=%zd", mc ? "~" : "", slotlabel(slot), en(err), ret);
    /* Only a request that succeeded says what its buffer holds: after a
     * failure (EINVAL, EFAULT, EBADF...) the contents are unspecified, and
     * glibc itself has left a failed O_DIRECT read's buffer different from
     * one run to the next (seed 1513644494). That also covers a request
     * that may or may not have been cancelled, with a signal number that
     * makes glibc overwrite either outcome with EINVAL. */
    if (q->buf && err == 0 && !(mc && q->badsig))
        printf(" data=%016llx", (unsigned long long)fnv(q->buf, q->len));
    printf("\n");
    /* consistency of what was seen before */
    if (q->observed >= 0 && q->observed != err)
        printf("INCONSISTENT %s: aio_error was %s before, now %s\n", slotlabel(slot), en(q->observed), en(err));
    if (q->not_cancelled && err == ECANCELED && !q->cancel_seen)
        printf("INCONSISTENT %s: aio_cancel said it was not cancelled, but it ended ECANCELED\n",
               slotlabel(slot));
    if (q->cancel_seen && !(ret == -1 && (err == ECANCELED || (q->badsig && err == EINVAL))))
        printf("INCONSISTENT %s: cancelled, but error=%s return=%zd\n", slotlabel(slot), en(err), ret);
    q->observed = err;
}

static void op_error(void)
{
    int slot = slotnum(need("c"));
    int det = strcmp(need("det"), "1") == 0;
    int e = aio_error(&cbs[slot]);
    int id = slot_req[slot];
    printf("%serror %s = %s\n", det ? "" : "~", slotlabel(slot), e == -1 ? "-1" : en(e));
    if (id >= 0 && e != EINPROGRESS && e != -1) {
        struct req *q = &reqs[id];
        if (q->observed >= 0 && q->observed != e)
            printf("INCONSISTENT %s: aio_error was %s, now %s\n", slotlabel(slot), en(q->observed), en(e));
        if (q->observed < 0)
            q->observed = e;
    }
}

static void op_return(void)
{
    int slot = slotnum(need("c"));
    int det = strcmp(need("det"), "1") == 0;
    if (det) {
        ssize_t r = aio_return(&cbs[slot]);
        printf("return %s = %zd\n", slotlabel(slot), r);
        return;
    }
    int e = aio_error(&cbs[slot]);
    ssize_t r = aio_return(&cbs[slot]);
    if (e == EINPROGRESS)
        printf("~return %s = (in progress)\n", slotlabel(slot));
    else
        printf("~return %s = %zd (error %s)\n", slotlabel(slot), r, en(e));
}

static void op_fields(void)
{
    int slot = slotnum(need("c"));
    struct aiocb *cb = &cbs[slot];
    printf("fields %s: opcode=%d reqprio=%d notify=%d signo=%d fildes=%d nbytes=%zu offset=%lld\n",
           slotlabel(slot), cb->aio_lio_opcode, cb->aio_reqprio, cb->aio_sigevent.sigev_notify,
           cb->aio_sigevent.sigev_signo, cb->aio_fildes, (size_t)cb->aio_nbytes, (long long)cb->aio_offset);
}

/* aio_cancel, then the consistency of its answer with the state of every
 * request it may have touched */
static void op_cancel(void)
{
    int fdi = fdsym(need("fd"));
    const char *cs = need("c");
    int det = strcmp(need("det"), "1") == 0;
    struct aiocb *cb = NULL;
    int slot = -1;
    if (strcmp(cs, "null") != 0) {
        slot = slotnum(cs);
        cb = &cbs[slot];
    }
    /* candidates: requests that may be affected, for consistency checks */
    int cand[NSLOTS], nc = 0;
    for (int s = 0; s < NSLOTS; s++) {
        if (slot_req[s] < 0)
            continue;
        if (cb ? s == slot : cbs[s].aio_fildes == fds[fdi])
            cand[nc++] = s;
    }
    int before[NSLOTS];
    for (int i = 0; i < nc; i++)
        before[i] = aio_error(&cbs[cand[i]]);
    errno = 0;
    int r = aio_cancel(fds[fdi], cb);
    int e = errno;
    if (r == -1) {
        printf("cancel fd=%s c=%s -> -1 %s\n", fdnames[fdi], cb ? slotlabel(slot) : "null", en(e));
        return;
    }
    printf("%scancel fd=%s c=%s -> %s\n", det ? "" : "~", fdnames[fdi], cb ? slotlabel(slot) : "null",
           cancel_name(r));
    for (int i = 0; i < nc; i++) {
        int s = cand[i];
        struct req *q = &reqs[slot_req[s]];
        int now = aio_error(&cbs[s]);
        ssize_t ret = aio_return(&cbs[s]);
        if (before[i] != EINPROGRESS)
            continue; /* was done before: untouched */
        int looks_cancelled = ret == -1 && (now == ECANCELED || (q->badsig && now == EINVAL));
        if (cb) {
            if (r == AIO_CANCELED) {
                q->cancel_seen = 1;
                if (!looks_cancelled)
                    printf("INCONSISTENT %s: AIO_CANCELED but error=%s return=%zd\n", slotlabel(s), en(now),
                           ret);
            } else {
                q->not_cancelled = 1;
                if (now == ECANCELED && !q->cancel_seen)
                    printf("INCONSISTENT %s: %s but error=ECANCELED\n", slotlabel(s), cancel_name(r));
                if (r == AIO_ALLDONE && now == EINPROGRESS)
                    printf("INCONSISTENT %s: AIO_ALLDONE but EINPROGRESS\n", slotlabel(s));
            }
        } else {
            if (looks_cancelled)
                q->cancel_seen = 1;
            if ((r == AIO_CANCELED || r == AIO_ALLDONE) && now == EINPROGRESS)
                printf("INCONSISTENT %s: %s for the fd but still EINPROGRESS\n", slotlabel(s),
                       cancel_name(r));
            if (r == AIO_ALLDONE) {
                q->not_cancelled = 1;
                if (now == ECANCELED && !q->cancel_seen)
                    printf("INCONSISTENT %s: AIO_ALLDONE for the fd but error=ECANCELED\n", slotlabel(s));
            }
        }
    }
}

static void op_suspend(void)
{
    const char *cs = need("cs");
    const char *ts = need("t");
    int det = strcmp(need("det"), "1") == 0;
    const struct aiocb *list[16];
    int n = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", strcmp(cs, "none") == 0 ? "" : cs);
    char *save = NULL;
    char label[512];
    label[0] = 0;
    for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n >= 16)
            bug("too many suspend entries");
        if (strcmp(t, "null") == 0) {
            list[n++] = NULL;
            strcat(label, n > 1 ? ",null" : "null");
        } else {
            int s = slotnum(t);
            list[n++] = &cbs[s];
            if (n > 1)
                strcat(label, ",");
            strcat(label, slotlabel(s));
        }
    }
    struct timespec t, *tp = &t;
    if (strcmp(ts, "null") == 0)
        tp = NULL;
    else if (strcmp(ts, "0") == 0)
        t = (struct timespec){ 0, 0 };
    else if (strcmp(ts, "neg") == 0)
        t = (struct timespec){ -1, 0 };
    else if (strcmp(ts, "negns") == 0)
        t = (struct timespec){ -100, 999999999 };
    else if (strncmp(ts, "ms:", 3) == 0) {
        long long ms = num(ts + 3);
        t = (struct timespec){ ms / 1000, (ms % 1000) * 1000000L };
    } else if (strncmp(ts, "s:", 2) == 0)
        t = (struct timespec){ num(ts + 2), 0 };
    else
        bug("bad timeout %s", ts);
    errno = 0;
    int r = aio_suspend(list, n, tp);
    int e = errno;
    printf("%ssuspend [%s] t=%s", det ? "" : "~", label, ts);
    print_rc(r, e);
}

/* Drop what is readable on a stream the driver fed (after a cancel whose
 * outcome glibc does not fix, so that both outcomes continue alike). */
static void op_drain(void)
{
    int fdi = fdsym(need("fd"));
    if (fdi != FD_PR && fdi != FD_S)
        bug("drain on %s", fdnames[fdi]);
    int n = 0;
    if (ioctl(fds[fdi], FIONREAD, &n) != 0)
        bug("FIONREAD: %s", en(errno));
    unsigned char b[4096];
    while (n > 0) {
        ssize_t r = read(fds[fdi], b, n < (int)sizeof b ? (size_t)n : sizeof b);
        if (r <= 0)
            bug("drain read: %s", en(errno));
        n -= (int)r;
    }
    printf("drain %s\n", fdnames[fdi]);
}

static uint64_t feed_count[2];

static void op_feed(void)
{
    int fdi = fdsym(need("fd"));
    long long len = num(need("len"));
    int k = fdi == FD_PR ? 0 : fdi == FD_S ? 1 : -1;
    if (k < 0 || len <= 0 || len > 65536)
        bug("bad feed");
    unsigned char *b = malloc((size_t)len);
    for (long long i = 0; i < len; i++)
        b[i] = patb(500 + k, feed_count[k] + (uint64_t)i);
    errno = 0;
    ssize_t w = write(k == 0 ? pr_feed : s_peer, b, (size_t)len);
    int e = errno;
    free(b);
    if (w > 0)
        feed_count[k] += (uint64_t)w;
    printf("feed %s %lld", fdnames[fdi], len);
    print_rc((int)w, e);
}

static void op_repair(void)
{
    int fdi = fdsym(need("fd"));
    long long off = num(need("off"));
    long long len = num(need("len"));
    if (fdi != FD_F && fdi != FD_G && fdi != FD_D)
        bug("repair on %s", fdnames[fdi]);
    if (off < 0 || len <= 0 || len > BUFCAP)
        bug("bad repair range");
    unsigned char *b = malloc((size_t)len);
    for (long long i = 0; i < len; i++)
        b[i] = patb(900 + (uint64_t)fdi, (uint64_t)(off + i));
    ssize_t w = pwrite(ctl[fdi], b, (size_t)len, off);
    int e = errno;
    free(b);
    /* the result is the file system's, the same under both */
    printf("repair %s off=%lld len=%lld -> %s\n", fdnames[fdi], off, len, w == len ? "ok" : en(e));
}

/* hash of the nonzero bytes of a file with their offsets: holes and
 * explicit zeros look the same */
static void file_sum(int i)
{
    int fd = ctl[i];
    struct stat st;
    if (fstat(fd, &st) != 0)
        bug("fstat");
    uint64_t sum = 0;
    unsigned char *b = malloc(65536);
    off_t pos = 0;
    while (pos < st.st_size) {
        off_t d = lseek(fd, pos, SEEK_DATA);
        if (d < 0)
            break;
        off_t h = lseek(fd, d, SEEK_HOLE);
        if (h < 0)
            h = st.st_size;
        for (off_t o = d; o < h;) {
            size_t n = h - o < 65536 ? (size_t)(h - o) : 65536;
            ssize_t r = pread(fd, b, n, o);
            if (r <= 0)
                bug("pread for checksum: %s", en(errno));
            for (ssize_t j = 0; j < r; j++)
                if (b[j])
                    sum += mix64(((uint64_t)(o + j) << 8) | b[j]);
            o += r;
        }
        pos = h;
    }
    free(b);
    static const char *names[5] = { "F", "G", "A", "R", "D" };
    printf("file %s: size=%lld sum=%016llx\n", names[i], (long long)st.st_size, (unsigned long long)sum);
}

static void drain(const char *label, int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    unsigned char b[4096];
    uint64_t h = 1469598103934665603ull, n = 0;
    for (;;) {
        ssize_t r = read(fd, b, sizeof b);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            h ^= b[i];
            h *= 1099511628211ull;
        }
        n += (uint64_t)r;
    }
    printf("stream %s: %llu bytes hash=%016llx\n", label, (unsigned long long)n, (unsigned long long)h);
}

static void op_end(void)
{
    /* nothing may be left in flight */
    for (int s = 0; s < NSLOTS; s++)
        if (slot_req[s] >= 0 && aio_error(&cbs[s]) == EINPROGRESS)
            printf("LEFT IN FLIGHT %s\n", slotlabel(s));
    /* notifications: wait for the expected ones (bounded), then take the
     * pending signals */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGA);
    sigaddset(&set, SIGB);
    long long end = now_ms() + 3000;
    for (;;) {
        siginfo_t si;
        struct timespec z = { 0, 0 };
        while (sigtimedwait(&set, &si, &z) > 0)
            count_signal(si.si_signo, &si);
        if ((atomic_load(&sig_total) >= expect_sig && atomic_load(&thr_total) >= expect_thr) ||
            now_ms() > end)
            break;
        sleep_us(500);
    }
    if (atomic_load(&sig_total) < expect_sig || atomic_load(&thr_total) < expect_thr)
        fprintf(stderr, "fuzz driver: notification wait ran out: signals %d/%d threads %d/%d\n",
                atomic_load(&sig_total), expect_sig, atomic_load(&thr_total), expect_thr);
    for (int id = 0; id < MAXIDS; id++) {
        int a = atomic_load(&sig_count[0][id]), b = atomic_load(&sig_count[1][id]);
        int t = atomic_load(&thr_count[id]);
        int bc = atomic_load(&sig_badcode[0][id]) + atomic_load(&sig_badcode[1][id]);
        if (!a && !b && !t)
            continue;
        if (id >= LIO_ID_BASE)
            printf("notify L%d:", id - LIO_ID_BASE);
        else
            printf("notify r%d:", id);
        if (a)
            printf(" SIGRTMIN+1 x%d", a);
        if (b)
            printf(" SIGRTMIN+2 x%d", b);
        if (bc)
            printf(" (si_code not SI_ASYNCIO x%d)", bc);
        if (t)
            printf(" thread x%d", t);
        printf("\n");
    }
    if (atomic_load(&notif_other))
        printf("notify: %d with an unknown value or signal\n", atomic_load(&notif_other));
    for (int i = 0; i < 5; i++)
        file_sum(i);
    drain("PW (written by aio)", pw_drain);
    drain("S (written by aio)", s_peer);
    drain("PR (left unread)", fds[FD_PR]);
    drain("S (left unread)", fds[FD_S]);
    printf("end\n");
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    FILE *in = stdin;
    if (argc > 1 && strcmp(argv[1], "-") != 0) {
        in = fopen(argv[1], "r");
        if (!in) {
            fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
            return 2;
        }
    }
    if (getenv("FUZZ_WAIT_MS"))
        wait_ms = atol(getenv("FUZZ_WAIT_MS"));
    SIGA = SIGRTMIN + 1;
    SIGB = SIGRTMIN + 2;
    /* the notification signals are blocked here and in every thread we
     * create; a handler counts them where an implementation's thread has
     * them unblocked */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigaction(SIGA, &sa, NULL);
    sigaction(SIGB, &sa, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t wd;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    if (pthread_create(&wd, &a, watchdog, NULL) != 0)
        bug("watchdog thread");
    pthread_attr_destroy(&a);
    sigset_t blk = old;
    sigaddset(&blk, SIGA);
    sigaddset(&blk, SIGB);
    pthread_sigmask(SIG_SETMASK, &blk, NULL);

    pthread_attr_init(&thr_attr);
    pthread_attr_setdetachstate(&thr_attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&thr_attr, 256 * 1024);

    for (int s = 0; s < NSLOTS; s++) {
        if (posix_memalign((void **)&bufs[s], 4096, BUFCAP) != 0)
            bug("posix_memalign");
        memset(bufs[s], 0, BUFCAP);
        slot_req[s] = -1;
        memset(&cbs[s], 0, sizeof cbs[s]);
        cbs[s].aio_fildes = -1;
    }
    badmem = mmap(NULL, BUFCAP + 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    romem = mmap(NULL, BUFCAP + 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (badmem == MAP_FAILED || romem == MAP_FAILED)
        bug("mmap");

    char line[4096];
    int setup_done = 0, ended = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        char *h = strchr(line, '#');
        if (h)
            *h = 0;
        nwords = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n", &save); t && nwords < MAXW; t = strtok_r(NULL, " \t\r\n", &save))
            words[nwords++] = t;
        if (nwords == 0)
            continue;
        const char *op = words[0];
        if (strcmp(op, "setup") == 0) {
            op_setup();
            setup_done = 1;
            continue;
        }
        if (!setup_done)
            bug("first operation must be setup");
        if (ended)
            bug("operation after end");
        if (strcmp(op, "read") == 0)
            op_submit(K_READ);
        else if (strcmp(op, "write") == 0)
            op_submit(K_WRITE);
        else if (strcmp(op, "fsync") == 0)
            op_submit(K_OTHER);
        else if (strcmp(op, "lio") == 0)
            op_lio();
        else if (strcmp(op, "wait") == 0)
            op_wait();
        else if (strcmp(op, "error") == 0)
            op_error();
        else if (strcmp(op, "return") == 0)
            op_return();
        else if (strcmp(op, "fields") == 0)
            op_fields();
        else if (strcmp(op, "cancel") == 0)
            op_cancel();
        else if (strcmp(op, "suspend") == 0)
            op_suspend();
        else if (strcmp(op, "drain") == 0)
            op_drain();
        else if (strcmp(op, "feed") == 0)
            op_feed();
        else if (strcmp(op, "repair") == 0)
            op_repair();
        else if (strcmp(op, "end") == 0) {
            op_end();
            ended = 1;
        } else
            bug("unknown operation '%s'", op);
    }
    if (!ended)
        bug("no end");
    fflush(stdout);
    return 0;
}
