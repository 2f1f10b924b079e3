/* fork during heavy I/O.
 *
 * usage: fork_heavy fresh|samefd
 *
 * Two parent threads keep I/O in flight the whole time: 32 O_DIRECT reads
 * (resubmitted as they complete, content checked) and buffered
 * writes+reads of their own region. The main thread forks 12 times; each
 * child at once does its own AIO and exits: with "fresh", on a file it
 * opens after the fork; with "samefd", on the very fd its parent keeps busy
 * (glibc's child hangs there: its parent's queue and helper threads are in
 * its memory but not in its process). A child that does not finish in 10 s
 * is killed and counted as hung. The parent's requests must all complete
 * with the right data.
 */
#include "../rel.h"

#define FS (8 << 20)
#define DEPTH 32
#define FORKS 12

static int dfd, bfd;
static atomic_int stop;
static atomic_long dreads, dbad, bops, bbad;

static void *direct_loop(void *a)
{
    (void)a;
    static struct aiocb c[DEPTH];
    char *buf = aligned_buf((size_t)DEPTH * 4096);
    unsigned seed = 1;
    for (int i = 0; i < DEPTH; i++) {
        cb_init(&c[i], dfd, buf + i * 4096, 4096, (off_t)(rand_r(&seed) % (FS / 4096)) * 4096);
        CHECK(aio_read(&c[i]) == 0);
    }
    int live = DEPTH;
    long long end = 0;
    while (live > 0) {
        if (atomic_load(&stop) && !end)
            end = now_ms() + LONG_MS;
        if (end && now_ms() > end) {
            atomic_fetch_add(&dbad, live);
            break;
        }
        const struct aiocb *l[DEPTH];
        for (int i = 0; i < DEPTH; i++)
            l[i] = c[i].aio_fildes >= 0 ? &c[i] : NULL;
        struct timespec ts = { 0, 100 * 1000000 };
        aio_suspend(l, DEPTH, &ts);
        for (int i = 0; i < DEPTH; i++) {
            if (c[i].aio_fildes < 0 || aio_error(&c[i]) == EINPROGRESS)
                continue;
            if (aio_error(&c[i]) != 0 || aio_return(&c[i]) != 4096 ||
                !check_pat(buf + i * 4096, 4096, c[i].aio_offset))
                atomic_fetch_add(&dbad, 1);
            atomic_fetch_add(&dreads, 1);
            if (atomic_load(&stop)) {
                c[i].aio_fildes = -1;
                live--;
                continue;
            }
            cb_init(&c[i], dfd, buf + i * 4096, 4096, (off_t)(rand_r(&seed) % (FS / 4096)) * 4096);
            CHECK(aio_read(&c[i]) == 0);
        }
    }
    return NULL;
}

static void *buffered_loop(void *a)
{
    (void)a;
    char *w = aligned_buf(8 * 4096), *r = aligned_buf(8 * 4096);
    for (long gen = 0; !atomic_load(&stop); gen++) {
        struct aiocb c[8], *l[8];
        for (int i = 0; i < 8; i++) {
            memset(w + i * 4096, (int)((gen + i) & 0xff), 4096);
            cb_init(&c[i], bfd, w + i * 4096, 4096, (off_t)i * 4096);
            c[i].aio_lio_opcode = LIO_WRITE;
            l[i] = &c[i];
        }
        if (lio_listio(LIO_WAIT, l, 8, NULL) != 0)
            atomic_fetch_add(&bbad, 1);
        for (int i = 0; i < 8; i++) {
            if (aio_error(&c[i]) != 0 || aio_return(&c[i]) != 4096)
                atomic_fetch_add(&bbad, 1);
            cb_init(&c[i], bfd, r + i * 4096, 4096, (off_t)i * 4096);
            CHECK(aio_read(&c[i]) == 0);
        }
        if (wait_array(c, 8, LONG_MS))
            atomic_fetch_add(&bbad, 1);
        for (int i = 0; i < 8; i++)
            if (aio_error(&c[i]) != 0 || memcmp(r + i * 4096, w + i * 4096, 4096))
                atomic_fetch_add(&bbad, 1);
        atomic_fetch_add(&bops, 16);
    }
    return NULL;
}

static int child_io(int samefd)
{
    int fd = samefd ? dfd : open("fork_heavy.dat", O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0)
        return 3;
    char *buf = aligned_buf(8 * 4096);
    struct aiocb c[8];
    for (int i = 0; i < 8; i++) {
        cb_init(&c[i], fd, buf + i * 4096, 4096, (off_t)i * 262144);
        if (aio_read(&c[i]) != 0)
            return 4;
    }
    if (wait_array(c, 8, 8000))
        return 5;
    for (int i = 0; i < 8; i++)
        if (aio_error(&c[i]) != 0 || aio_return(&c[i]) != 4096 ||
            !check_pat(buf + i * 4096, 4096, (off_t)i * 262144))
            return 6;
    /* a pipe and a write too */
    int p[2];
    if (pipe(p))
        return 7;
    static char pb[4];
    struct aiocb pr;
    cb_init(&pr, p[0], pb, 2, 0);
    if (aio_read(&pr) != 0 || write(p[1], "ok", 2) != 2)
        return 8;
    if (wait_done(&pr, 8000) != 0 || memcmp(pb, "ok", 2))
        return 9;
    return 0;
}

int main(int argc, char **argv)
{
    int samefd = argc > 1 && strcmp(argv[1], "samefd") == 0;
    dfd = make_file_at("fork_heavy.dat", FS, O_RDONLY | O_DIRECT);
    if (dfd < 0 && errno == EINVAL) {
        printf("SKIP no O_DIRECT\n");
        return 0;
    }
    CHECK(dfd >= 0);
    bfd = open("fork_heavy.buf", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(bfd >= 0);
    pthread_t t1, t2;
    CHECK(pthread_create(&t1, NULL, direct_loop, NULL) == 0);
    CHECK(pthread_create(&t2, NULL, buffered_loop, NULL) == 0);
    int ok = 0, hung = 0, failed = 0;
    for (int k = 0; k < FORKS; k++) {
        sleep_ms(30);
        fflush(stdout);
        pid_t c = fork();
        CHECK(c >= 0);
        if (c == 0)
            _exit(child_io(samefd));
        int st = 0;
        long long end = now_ms() + 10000;
        int done = 0;
        while (!(done = waitpid(c, &st, WNOHANG) == c) && now_ms() < end)
            sleep_ms(2);
        if (!done) {
            kill(c, SIGKILL);
            waitpid(c, &st, 0);
            hung++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
        else {
            failed++;
            fprintf(stderr, "child %d: status %#x\n", k, st);
        }
    }
    atomic_store(&stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("children (%s): ok=%d hung=%d failed=%d\n", samefd ? "same fd" : "fresh fd", ok, hung, failed);
    printf("parent O_DIRECT reads all completed with the right data: %d\n", atomic_load(&dbad) == 0);
    printf("parent buffered writes/reads all right: %d\n", atomic_load(&bbad) == 0);
    fprintf(stderr, "parent: %ld direct reads, %ld buffered ops\n", atomic_load(&dreads), atomic_load(&bops));
    if (atomic_load(&dreads) < 1000)
        printf("NOTE: fewer than 1000 O_DIRECT reads during the forks\n");
    unlink("fork_heavy.dat");
    unlink("fork_heavy.buf");
    return rel_exit();
}
