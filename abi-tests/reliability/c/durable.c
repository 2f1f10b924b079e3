/* Nothing lost across SIGKILL.
 *
 * usage: durable write FILE LOG STATE buffered|direct MAXREC
 *        durable check FILE LOG STATE
 *
 * The writer appends numbered, checksummed 4 KiB records (record N at
 * offset N*4096) with aio_write, 32 in flight, and every 64 records an
 * aio_fsync(O_SYNC). When an fsync completes it appends to LOG (write(2),
 * so a SIGKILL loses nothing already logged):
 *     fsync N completed covering records <= K
 * where K is the highest record such that every record <= K had completed
 * (aio_error 0, aio_return 4096) when the fsync was submitted. STATE is a
 * shared mapping where the writer also stores, after each completion, the
 * highest K with every record <= K acknowledged (page cache: survives
 * SIGKILL). It logs once which shim threads it has (the proof that the
 * shim served it, as a killed process writes no stats).
 * The runner kills the writer with SIGKILL at a random moment; the checker
 * verifies that every record covered by a completed fsync, and every
 * acknowledged record, is in FILE and intact.
 */
#include "../rel.h"

#define RS 4096
#define DEPTH 32
#define MAGIC 0x5245434fu

struct state {
    volatile int64_t acked; /* every record <= acked completed */
    volatile int64_t fsynced;
};

static void make_record(unsigned char *r, uint64_t seq)
{
    uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;
    for (int i = 16; i < RS; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(r + i, &x, 8);
    }
    uint32_t m = MAGIC;
    memcpy(r, &m, 4);
    memcpy(r + 8, &seq, 8);
    uint32_t c = crc32c_sw(0, r + 8, RS - 8);
    memcpy(r + 4, &c, 4);
}

static int record_ok(const unsigned char *r, uint64_t seq)
{
    uint32_t m, c;
    uint64_t s;
    memcpy(&m, r, 4);
    memcpy(&c, r + 4, 4);
    memcpy(&s, r + 8, 8);
    return m == MAGIC && s == seq && c == crc32c_sw(0, r + 8, RS - 8);
}

static void logf_(int fd, const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    CHECK(write(fd, b, (size_t)n) == n);
}

static struct state *map_state(const char *path, int create)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
    CHECK(fd >= 0);
    if (create)
        CHECK(ftruncate(fd, 4096) == 0);
    struct state *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED);
    close(fd);
    return s;
}

static int do_write(const char *file, const char *logp, const char *statep, int direct, long maxrec)
{
    int fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0644);
    CHECK(fd >= 0);
    int lg = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    CHECK(lg >= 0);
    struct state *st = map_state(statep, 1);
    st->acked = -1;
    st->fsynced = -1;
    unsigned char *bufs = aligned_buf((size_t)DEPTH * RS);
    static struct aiocb c[DEPTH];
    static int64_t seq_of[DEPTH];
    unsigned char *acked = calloc((size_t)maxrec + 1, 1);
    CHECK(acked);
    for (int i = 0; i < DEPTH; i++)
        seq_of[i] = -1;
    struct aiocb fs;
    int fs_busy = 0;
    int64_t fs_cover = -1, next = 0, prefix = -1;
    long nfsync = 0;
    int logged_threads = 0;
    for (;;) {
        /* submit into free slots */
        for (int i = 0; i < DEPTH && next < maxrec; i++) {
            if (seq_of[i] >= 0)
                continue;
            make_record(bufs + (size_t)i * RS, (uint64_t)next);
            cb_init(&c[i], fd, bufs + (size_t)i * RS, RS, (off_t)next * RS);
            CHECK(aio_write(&c[i]) == 0);
            seq_of[i] = next++;
        }
        if (!fs_busy && prefix >= 0 && prefix - fs_cover >= 64) {
            cb_init(&fs, fd, NULL, 0, 0);
            CHECK(aio_fsync(O_SYNC, &fs) == 0);
            fs_busy = 1;
            fs_cover = prefix; /* every record <= prefix has completed */
        }
        const struct aiocb *l[DEPTH + 1];
        int n = 0;
        for (int i = 0; i < DEPTH; i++)
            if (seq_of[i] >= 0)
                l[n++] = &c[i];
        if (fs_busy)
            l[n++] = &fs;
        if (n == 0)
            break;
        struct timespec ts = { 5, 0 };
        if (aio_suspend(l, n, &ts) != 0 && errno != EINTR) {
            logf_(lg, "BAD: aio_suspend: %s\n", en(errno));
            return 1;
        }
        for (int i = 0; i < DEPTH; i++) {
            if (seq_of[i] < 0 || aio_error(&c[i]) == EINPROGRESS)
                continue;
            if (aio_error(&c[i]) != 0 || aio_return(&c[i]) != RS) {
                logf_(lg, "BAD: record %lld: aio_error=%s aio_return=%zd\n", (long long)seq_of[i],
                      en(aio_error(&c[i])), aio_return(&c[i]));
                return 1;
            }
            acked[seq_of[i]] = 1;
            seq_of[i] = -1;
        }
        while (prefix + 1 < maxrec && acked[prefix + 1])
            prefix++;
        st->acked = prefix;
        if (fs_busy && aio_error(&fs) != EINPROGRESS) {
            if (aio_error(&fs) != 0) {
                logf_(lg, "BAD: aio_fsync: %s\n", en(aio_error(&fs)));
                return 1;
            }
            fs_busy = 0;
            nfsync++;
            st->fsynced = fs_cover;
            logf_(lg, "fsync %ld completed covering records <= %lld\n", nfsync, (long long)fs_cover);
        }
        if (!logged_threads && prefix >= DEPTH) {
            logged_threads = 1;
            logf_(lg, "threads: aio-shim-kaio=%d aio-shim-pool=%d aio-shim-uring=%d\n",
                  count_threads("aio-shim-kaio"), count_threads("aio-shim-pool"), count_threads("aio-shim-uring"));
        }
    }
    logf_(lg, "finished %lld records\n", (long long)next);
    pause(); /* wait for the SIGKILL */
    return 0;
}

static int do_check(const char *file, const char *logp, const char *statep)
{
    FILE *lf = fopen(logp, "re");
    CHECK(lf);
    char line[256];
    long nfs = 0;
    long long k = -1;
    int bad_log = 0;
    while (fgets(line, sizeof line, lf)) {
        long n;
        long long kk;
        if (sscanf(line, "fsync %ld completed covering records <= %lld", &n, &kk) == 2) {
            nfs = n;
            if (kk > k)
                k = kk;
        } else if (strncmp(line, "BAD", 3) == 0) {
            bad_log++;
            printf("writer said: %s", line);
        }
    }
    fclose(lf);
    struct state *st = map_state(statep, 0);
    long long acked = st->acked;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    unsigned char *r = aligned_buf(RS);
    long long lost_fsynced = 0, lost_acked = 0, extra = 0;
    long long upto = acked > k ? acked : k;
    for (long long s = 0;; s++) {
        ssize_t g = pread(fd, r, RS, (off_t)s * RS);
        int ok = g == RS && record_ok(r, (uint64_t)s);
        if (s <= upto) {
            if (!ok && s <= k)
                lost_fsynced++;
            if (!ok && s <= acked)
                lost_acked++;
            if (!ok && lost_acked + lost_fsynced < 5)
                printf("BAD: record %lld missing or damaged (fsync-covered=%d acknowledged=%d)\n", s, s <= k,
                       s <= acked);
        } else if (ok)
            extra++;
        else if (g < RS)
            break;
    }
    printf("fsyncs=%ld covered=%lld acknowledged=%lld lost_fsynced=%lld lost_acknowledged=%lld "
           "written_beyond=%lld\n",
           nfs, k + 1, acked + 1, lost_fsynced, lost_acked, extra);
    return (lost_fsynced || lost_acked || bad_log) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "write") == 0)
        return do_write(argv[2], argv[3], argv[4], strcmp(argv[5], "direct") == 0, atol(argv[6]));
    if (argc == 5 && strcmp(argv[1], "check") == 0)
        return do_check(argv[2], argv[3], argv[4]);
    die("usage");
}
