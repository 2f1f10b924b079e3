/* An O_DIRECT file's fd, with reads in flight, is replaced with dup2 by a
 * pipe; a read is then submitted on the fd (now an empty pipe), and a read
 * on another O_DIRECT file.
 *
 * usage: fd_kind_change [NREADS [READ_KIB [buffered|idle]]]   (default 64
 *        reads of 64 KiB; the runner uses 32 of 1 MiB, so that they are
 *        surely in flight; "buffered": the replaced file is opened without
 *        O_DIRECT and dropped from the page cache, so its reads are on
 *        workers; "idle": the reads complete before the dup2, so nothing of
 *        the fd is in flight and only what the shim remembers of the fd
 *        number can mislead it)
 *
 * Correct: the submission returns at once (a read on an empty pipe never
 * blocks the caller), the read on the other file completes at once (a read
 * on an empty pipe never holds up other requests), the new read gets the
 * pipe's data (or EOF once the write end is closed), and nothing hangs.
 * glibc: the earlier reads still queued on that fd number run on the pipe
 * (ESPIPE, then read()) and may take the data: allowed here.
 * A helper thread writes to the pipe after 2 s to rescue a stuck caller.
 */
#include "../rel.h"

static int pw = -1;
static atomic_int fed;
static void *feeder(void *a)
{
    (void)a;
    sleep_ms(2000); /* rescue a submitter stuck in aio_read */
    if (!atomic_exchange(&fed, 1)) {
        CHECK(write(pw, "xyz", 3) == 3);
        close(pw);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int NR = argc > 1 ? atoi(argv[1]) : 64;
    size_t RS = argc > 2 ? (size_t)atoi(argv[2]) << 10 : 65536;
    size_t FS = (size_t)NR * RS;
    int other = make_file_at("k2.dat", 1 << 20, O_RDONLY | O_DIRECT);
    int buffered = argc > 3 && strcmp(argv[3], "buffered") == 0;
    int idle = argc > 3 && strcmp(argv[3], "idle") == 0;
    int fd = make_file_at("k.dat", FS, O_RDONLY | (buffered ? 0 : O_DIRECT));
    if (fd < 0 && errno == EINVAL) {
        printf("SKIP no O_DIRECT\n");
        return 0;
    }
    CHECK(fd >= 0);
    if (buffered) {
        CHECK(fdatasync(fd) == 0);
        CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
    }
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    pw = p[1];
    unsigned char *buf = aligned_buf(FS);
    struct aiocb *r = calloc((size_t)NR, sizeof *r);
    CHECK(r && other >= 0);
    for (int i = 0; i < NR; i++) {
        cb_init(&r[i], fd, buf + (size_t)i * RS, RS, (off_t)((i * 37) % NR) * RS);
        CHECK(aio_read(&r[i]) == 0);
    }
    if (idle)
        CHECK(wait_array(r, NR, LONG_MS) == 0);
    CHECK(dup2(p[0], fd) == fd);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, feeder, NULL) == 0);
    static char nb[8];
    struct aiocb n;
    cb_init(&n, fd, nb, 3, 0);
    long long t0 = now_ms();
    int rc = aio_read(&n);
    long long dt = now_ms() - t0;
    printf("aio_read(fd now an empty pipe) = %d\n", rc);
    printf("returned at once (< 1 s): %d\n", dt < 1000);
    if (dt >= 1000)
        BAD("aio_read blocked the caller for %lld ms (until another thread wrote to the pipe)", dt);
    char *ob = aligned_buf(4096);
    struct aiocb o;
    cb_init(&o, other, ob, 4096, 4096);
    t0 = now_ms();
    CHECK(aio_read(&o) == 0);
    int oe = wait_done(&o, 1000);
    dt = now_ms() - t0;
    printf("read on another O_DIRECT file done within 1 s: %d\n", oe == 0 && check_pat(ob, 4096, 4096));
    if (oe != 0)
        BAD("read on another O_DIRECT file: %s after %lld ms (held up by the read on the pipe)", en(oe), dt);
    oe = wait_done(&o, LONG_MS);
    if (!atomic_exchange(&fed, 1)) {
        CHECK(write(pw, "xyz", 3) == 3);
        close(pw);
    }
    int left = wait_array(r, NR, LONG_MS);
    int e = wait_done(&n, LONG_MS);
    printf("earlier reads all completed: %d\n", left == 0);
    printf("new read completed: %d\n", e != EINPROGRESS);
    ssize_t got = aio_return(&n);
    fprintf(stderr, "new read: %s %zd\n", en(e), got);
    printf("new read got the pipe data or EOF: %d\n",
           e == 0 && ((got == 3 && memcmp(nb, "xyz", 3) == 0) || got == 0));
    pthread_join(t, NULL);
    printf("read on another O_DIRECT file finally: %s ok=%d\n", en(oe), oe == 0 && check_pat(ob, 4096, 4096));
    unlink("k.dat");
    unlink("k2.dat");
    return rel_exit();
}
