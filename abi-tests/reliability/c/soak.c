/* Soak: many threads, mixed requests, a deterministic model.
 *
 * usage: soak SECONDS [THREADS]
 *
 * Files: one buffered, one O_DIRECT (buffered again if the filesystem has
 * no O_DIRECT), THREADS MiB each; thread t owns MiB t of each. Each worker
 * loops until the deadline: a batch of 1-12 reads and writes on distinct
 * 16 KiB slots of its region (O_DIRECT: 4 KiB aligned), submitted one by
 * one or with lio_listio (LIO_WAIT or LIO_NOWAIT), sometimes an aio_fsync,
 * sometimes aio_cancel of one of its requests; then waits (aio_suspend with
 * or without timeout, or polling aio_error). Every request must end with
 * its full length, or ECANCELED (then it had no effect); reads must match
 * the model; then the batch's writes are applied to the model. A chaos
 * thread calls aio_cancel(fd, NULL) on both files now and then (others'
 * requests may end ECANCELED: same rule). A writer and a reader thread
 * stream numbered 64-byte messages through a pipe (8 requests in flight
 * each, some reads cancelled): the reader must see every message, in order.
 * At the end the files must equal the model.
 */
#include "../rel.h"

#define MIB (1 << 20)
#define SLOT 16384
#define NSLOT (MIB / SLOT)
#define MSG 64

static int fds[2], direct_ok;
static long long deadline;
static atomic_long n_ops, n_cancelled, n_fsync, n_lio, n_suspend, n_bad, n_msgs, n_chaos;
static atomic_int stop_chaos;

struct op {
    struct aiocb cb;
    int file, slot, write;
    size_t off, len; /* within the region */
    unsigned char *buf;
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    uint64_t s = 0x1234567ull * (uint64_t)(t + 1);
    unsigned char *model[2];
    for (int f = 0; f < 2; f++)
        model[f] = calloc(1, MIB);
    unsigned char *bufs = aligned_buf((size_t)12 * SLOT);
    struct op ops[12];
    struct aiocb fsc;
    while (now_ms() < deadline) {
        int nops = 1 + (int)(rnd(&s) % 12);
        int file = (int)(rnd(&s) % 2);
        int used[NSLOT] = { 0 };
        for (int i = 0; i < nops; i++) {
            struct op *o = &ops[i];
            int slot;
            do
                slot = (int)(rnd(&s) % NSLOT);
            while (used[slot]);
            used[slot] = 1;
            o->file = file;
            o->slot = slot;
            o->write = (int)(rnd(&s) % 2);
            int dir = file == 1 && direct_ok;
            if (dir) {
                o->off = (size_t)slot * SLOT + (rnd(&s) % 4) * 4096;
                o->len = 4096 * (1 + rnd(&s) % ((SLOT - (o->off % SLOT)) / 4096));
            } else {
                o->off = (size_t)slot * SLOT + rnd(&s) % (SLOT / 2);
                o->len = 1 + rnd(&s) % (SLOT - (o->off % SLOT));
            }
            o->buf = bufs + (size_t)i * SLOT;
            if (o->write)
                for (size_t k = 0; k < o->len; k++)
                    o->buf[k] = (unsigned char)rnd(&s);
            else
                memset(o->buf, 0xee, o->len);
            cb_init(&o->cb, fds[file], o->buf, o->len, (off_t)t * MIB + (off_t)o->off);
            o->cb.aio_lio_opcode = o->write ? LIO_WRITE : LIO_READ;
        }
        int how = (int)(rnd(&s) % 4);
        struct aiocb *l[12];
        for (int i = 0; i < nops; i++)
            l[i] = &ops[i].cb;
        if (how == 0) {
            errno = 0;
            if (lio_listio(LIO_WAIT, l, nops, NULL) != 0 && errno != EIO) {
                atomic_fetch_add(&n_bad, 1);
                BAD("t%d lio_listio(LIO_WAIT): %s", t, en(errno));
            }
            atomic_fetch_add(&n_lio, 1);
        } else if (how == 1) {
            CHECK(lio_listio(LIO_NOWAIT, l, nops, NULL) == 0);
            atomic_fetch_add(&n_lio, 1);
        } else {
            for (int i = 0; i < nops; i++)
                CHECK((ops[i].write ? aio_write(&ops[i].cb) : aio_read(&ops[i].cb)) == 0);
        }
        int fsync_now = rnd(&s) % 8 == 0;
        if (fsync_now) {
            cb_init(&fsc, fds[file], NULL, 0, 0);
            CHECK(aio_fsync(rnd(&s) % 2 ? O_SYNC : O_DSYNC, &fsc) == 0);
        }
        if (rnd(&s) % 4 == 0) {
            struct op *o = &ops[rnd(&s) % nops];
            int r = aio_cancel(o->cb.aio_fildes, &o->cb);
            if (r == -1) {
                atomic_fetch_add(&n_bad, 1);
                BAD("t%d aio_cancel: -1 %s", t, en(errno));
            }
        }
        /* wait */
        long long end = now_ms() + 3 * LONG_MS;
        int wait_how = (int)(rnd(&s) % 3);
        for (;;) {
            const struct aiocb *wl[13];
            int n = 0;
            for (int i = 0; i < nops; i++)
                if (aio_error(&ops[i].cb) == EINPROGRESS)
                    wl[n++] = &ops[i].cb;
            if (fsync_now && aio_error(&fsc) == EINPROGRESS)
                wl[n++] = &fsc;
            if (n == 0)
                break;
            if (now_ms() > end) {
                atomic_fetch_add(&n_bad, 1);
                BAD("t%d: %d requests never completed", t, n);
                goto out;
            }
            if (wait_how == 0) {
                atomic_fetch_add(&n_suspend, 1);
                if (aio_suspend(wl, n, NULL) != 0 && errno != EINTR) {
                    atomic_fetch_add(&n_bad, 1);
                    BAD("t%d aio_suspend(NULL): %s", t, en(errno));
                }
            } else if (wait_how == 1) {
                struct timespec ts = { 0, (long)(rnd(&s) % 3000) * 1000 };
                atomic_fetch_add(&n_suspend, 1);
                if (aio_suspend(wl, n, &ts) != 0 && errno != EAGAIN && errno != EINTR) {
                    atomic_fetch_add(&n_bad, 1);
                    BAD("t%d aio_suspend(timeout): %s", t, en(errno));
                }
            } else
                sleep_us(50);
        }
        if (fsync_now) {
            atomic_fetch_add(&n_fsync, 1);
            if (aio_error(&fsc) == ECANCELED)
                atomic_fetch_add(&n_cancelled, 1); /* by the chaos thread */
            else if (aio_error(&fsc) != 0 || aio_return(&fsc) != 0) {
                atomic_fetch_add(&n_bad, 1);
                BAD("t%d aio_fsync: %s %zd", t, en(aio_error(&fsc)), aio_return(&fsc));
            }
        }
        for (int i = 0; i < nops; i++) {
            struct op *o = &ops[i];
            int e = aio_error(&o->cb);
            ssize_t r = aio_return(&o->cb);
            atomic_fetch_add(&n_ops, 1);
            if (e == ECANCELED && r == -1) {
                atomic_fetch_add(&n_cancelled, 1);
                continue;
            }
            if (e != 0 || r != (ssize_t)o->len) {
                atomic_fetch_add(&n_bad, 1);
                BAD("t%d %s file %d off %zu len %zu: aio_error=%s aio_return=%zd", t, o->write ? "write" : "read",
                    o->file, o->off, o->len, en(e), r);
                continue;
            }
            if (!o->write && memcmp(o->buf, model[o->file] + o->off, o->len) != 0) {
                atomic_fetch_add(&n_bad, 1);
                BAD("t%d read file %d off %zu len %zu: data differs from the model", t, o->file, o->off, o->len);
            }
        }
        for (int i = 0; i < nops; i++) {
            struct op *o = &ops[i];
            if (o->write && aio_error(&o->cb) == 0)
                memcpy(model[o->file] + o->off, o->buf, o->len);
        }
    }
out:
    /* final comparison of this thread's regions */
    for (int f = 0; f < 2; f++) {
        unsigned char *b = aligned_buf(MIB);
        ssize_t g = pread(fds[f], b, MIB, (off_t)t * MIB);
        if (g != MIB || memcmp(b, model[f], MIB) != 0) {
            atomic_fetch_add(&n_bad, 1);
            BAD("t%d file %d: final content differs from the model (read %zd)", t, f, g);
        }
        free(b);
        free(model[f]);
    }
    free(bufs);
    return NULL;
}

static int pp[2];
static atomic_long msgs_sent;

static void *pipe_writer(void *a)
{
    (void)a;
    struct aiocb c[8];
    char b[8][MSG];
    long seq = 0;
    for (int i = 0; i < 8; i++)
        c[i].aio_fildes = -1;
    while (now_ms() < deadline) {
        for (int i = 0; i < 8; i++) {
            if (c[i].aio_fildes != -1) {
                int e = aio_error(&c[i]);
                if (e == EINPROGRESS)
                    continue;
                if (e != 0 || aio_return(&c[i]) != MSG) {
                    atomic_fetch_add(&n_bad, 1);
                    BAD("pipe write: %s %zd", en(e), aio_return(&c[i]));
                }
            }
            memset(b[i], 'm', MSG);
            snprintf(b[i], MSG, "msg %ld", seq++);
            cb_init(&c[i], pp[1], b[i], MSG, 0);
            CHECK(aio_write(&c[i]) == 0);
        }
        sleep_us(100);
    }
    for (int i = 0; i < 8; i++)
        if (c[i].aio_fildes != -1 && wait_done(&c[i], LONG_MS) != 0) {
            atomic_fetch_add(&n_bad, 1);
            BAD("pipe write at the end: %s", en(aio_error(&c[i])));
        }
    atomic_store(&msgs_sent, seq);
    return NULL;
}

static void *pipe_reader(void *a)
{
    (void)a;
    struct aiocb c[8];
    char b[8][MSG + 1];
    long expect = 0;
    uint64_t s = 99;
    int head = 0; /* requests complete in submission order: check in order */
    for (int i = 0; i < 8; i++) {
        cb_init(&c[i], pp[0], b[i], MSG, 0);
        CHECK(aio_read(&c[i]) == 0);
    }
    long long end = 0;
    for (;;) {
        long sent = atomic_load(&msgs_sent);
        if (sent && expect >= sent)
            break;
        if (sent && !end)
            end = now_ms() + LONG_MS;
        if (end && now_ms() > end) {
            atomic_fetch_add(&n_bad, 1);
            BAD("pipe reader: got %ld of %ld messages", expect, sent);
            break;
        }
        if (rnd(&s) % 16 == 0) /* cancel the newest read (queued: it cancels) */
            aio_cancel(pp[0], &c[(head + 7) % 8]);
        int i = head;
        const struct aiocb *one[] = { &c[i] };
        struct timespec ts = { 0, 20 * 1000000 };
        aio_suspend(one, 1, &ts);
        int e = aio_error(&c[i]);
        if (e == EINPROGRESS)
            continue;
        if (e == ECANCELED) {
            atomic_fetch_add(&n_cancelled, 1);
        } else if (e != 0 || aio_return(&c[i]) != MSG) {
            atomic_fetch_add(&n_bad, 1);
            BAD("pipe read: %s %zd", en(e), aio_return(&c[i]));
        } else {
            char want[MSG];
            memset(want, 'm', MSG);
            snprintf(want, MSG, "msg %ld", expect);
            if (memcmp(b[i], want, MSG) != 0) {
                atomic_fetch_add(&n_bad, 1);
                b[i][MSG] = 0;
                BAD("pipe read: got \"%.16s\", want \"%s\"", b[i], want);
                expect = atol(b[i] + 4);
            }
            expect++;
            atomic_fetch_add(&n_msgs, 1);
        }
        cb_init(&c[i], pp[0], b[i], MSG, 0);
        CHECK(aio_read(&c[i]) == 0);
        head = (head + 1) % 8;
    }
    /* the 8 reads still in flight: cancel the queued ones; the running
     * one sees EOF once the write end is closed (the writer is done) */
    aio_cancel(pp[0], NULL);
    close(pp[1]);
    for (int i = 0; i < 8; i++) {
        int e = wait_done(&c[i], LONG_MS);
        if (e == 0 && aio_return(&c[i]) != 0) /* took a message we did not expect */
            {
                atomic_fetch_add(&n_bad, 1);
                BAD("pipe read after the end got data");
            }
        else if (e != ECANCELED && e != 0) {
            atomic_fetch_add(&n_bad, 1);
            BAD("pipe read at the end: %s", en(e));
        }
    }
    return NULL;
}

static void *chaos(void *a)
{
    (void)a;
    while (!atomic_load(&stop_chaos)) {
        sleep_ms(37);
        for (int f = 0; f < 2; f++)
            if (aio_cancel(fds[f], NULL) == -1) {
                atomic_fetch_add(&n_bad, 1);
                BAD("aio_cancel(fd, NULL): %s", en(errno));
            }
        atomic_fetch_add(&n_chaos, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int secs = argc > 1 ? atoi(argv[1]) : 3;
    int nt = argc > 2 ? atoi(argv[2]) : 6;
    if (nt < 1 || nt > 64)
        die("threads");
    fds[0] = open("soak.buf", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fds[0] >= 0 && ftruncate(fds[0], (off_t)nt * MIB) == 0);
    int f1 = open("soak.dir", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(f1 >= 0 && ftruncate(f1, (off_t)nt * MIB) == 0);
    close(f1);
    fds[1] = open("soak.dir", O_RDWR | O_DIRECT | O_CLOEXEC);
    direct_ok = fds[1] >= 0;
    if (!direct_ok)
        fds[1] = open("soak.dir", O_RDWR | O_CLOEXEC);
    CHECK(fds[1] >= 0);
    CHECK(pipe2(pp, O_CLOEXEC) == 0);
    deadline = now_ms() + secs * 1000LL;
    pthread_t w[64], pw, pr, ch;
    for (int t = 0; t < nt; t++)
        CHECK(pthread_create(&w[t], NULL, worker, (void *)(intptr_t)t) == 0);
    CHECK(pthread_create(&pw, NULL, pipe_writer, NULL) == 0);
    CHECK(pthread_create(&pr, NULL, pipe_reader, NULL) == 0);
    CHECK(pthread_create(&ch, NULL, chaos, NULL) == 0);
    for (int t = 0; t < nt; t++)
        pthread_join(w[t], NULL);
    atomic_store(&stop_chaos, 1);
    pthread_join(ch, NULL);
    pthread_join(pw, NULL);
    pthread_join(pr, NULL);
    fprintf(stderr, "ops=%ld cancelled=%ld fsyncs=%ld lio=%ld suspends=%ld pipe_msgs=%ld chaos=%ld direct=%d\n",
            atomic_load(&n_ops), atomic_load(&n_cancelled), atomic_load(&n_fsync), atomic_load(&n_lio),
            atomic_load(&n_suspend), atomic_load(&n_msgs), atomic_load(&n_chaos), direct_ok);
    printf("soak: every request's result and the final files match the model: %d\n", atomic_load(&n_bad) == 0);
    printf("soak: pipe messages all received in order: %d\n",
           atomic_load(&n_msgs) == atomic_load(&msgs_sent) && atomic_load(&n_msgs) > 0);
    unlink("soak.buf");
    unlink("soak.dir");
    return rel_exit();
}
