/* EFBIG and SIGXFSZ under RLIMIT_FSIZE.
 *
 * usage: fsize DIR ignore|default|handler buffered|direct [first|late|late-prlimit|other]
 *
 * When the limit is set (default `first`: before any AIO call). `late`: by
 * setrlimit after an AIO write below it, so the shim has already looked at
 * the limit (it caches it, keyed by a count of setrlimit/prlimit calls);
 * `late-prlimit`: the same through prlimit(0, ...); `other`: by a child
 * process, prlimit(parent, ...), then 40 ms (the shim re-reads the limit at
 * least every 16 ms for changes it cannot count).
 *
 * RLIMIT_FSIZE is 1 MiB. A write straddling the limit is short; a write at
 * the limit fails. Under glibc the write runs in a helper thread that
 * blocks every signal, so the SIGXFSZ the kernel sends to the writing
 * thread stays pending there; the POSIX AIO caller sees EFBIG. A
 * bystander read on an empty pipe is in flight throughout; later I/O on
 * the same fd (below the limit) works.
 */
#include "../rel.h"

#define LIM (1 << 20)
static atomic_int handled;
static void on_xfsz(int s) { (void)s; atomic_fetch_add(&handled, 1); }

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5)
        die("usage");
    const char *when = argc == 5 ? argv[4] : "first";
    const char *mode = argv[2];
    int direct = strcmp(argv[3], "direct") == 0;
    CHECK(chdir(argv[1]) == 0);
    if (strcmp(mode, "ignore") == 0)
        signal(SIGXFSZ, SIG_IGN);
    else if (strcmp(mode, "handler") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_xfsz;
        CHECK(sigaction(SIGXFSZ, &sa, NULL) == 0);
    } else
        signal(SIGXFSZ, SIG_DFL);
    int fd = open("fsize.dat", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0644);
    CHECK(fd >= 0);
    struct rlimit rl = { LIM, LIM };
    if (strcmp(when, "first") == 0) {
        CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    } else {
        char *b0 = aligned_buf(4096);
        fill_pat(b0, 4096, 0);
        struct aiocb w0;
        cb_init(&w0, fd, b0, 4096, 0);
        printf("aio_write(before the limit is set) = %d\n", aio_write(&w0));
        int e0 = wait_done(&w0, LONG_MS);
        printf("  aio_error=%s aio_return=%zd\n", en(e0), aio_return(&w0));
        if (strcmp(when, "late") == 0) {
            CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        } else if (strcmp(when, "late-prlimit") == 0) {
            CHECK(prlimit(0, RLIMIT_FSIZE, &rl, NULL) == 0);
        } else if (strcmp(when, "other") == 0) {
            pid_t parent = getpid(), kid = fork();
            CHECK(kid >= 0);
            if (kid == 0)
                _exit(prlimit(parent, RLIMIT_FSIZE, &rl, NULL) == 0 ? 0 : 1);
            int ws;
            CHECK(waitpid(kid, &ws, 0) == kid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
            sleep_ms(40);
        } else
            die("usage: when");
        struct rlimit now;
        CHECK(getrlimit(RLIMIT_FSIZE, &now) == 0 && now.rlim_cur == LIM);
    }

    int p[2];
    CHECK(pipe(p) == 0);
    static char pb[8];
    struct aiocb by;
    cb_init(&by, p[0], pb, 5, 0);
    CHECK(aio_read(&by) == 0);

    char *buf = aligned_buf(3 * 4096);
    fill_pat(buf, 3 * 4096, LIM - 4096);
    struct aiocb a, b, c;
    cb_init(&a, fd, buf, 8192, LIM - 4096); /* straddles: short */
    cb_init(&b, fd, buf, 4096, LIM);        /* at the limit: EFBIG */
    printf("aio_write(straddling the limit) = %d\n", aio_write(&a));
    int e = wait_done(&a, LONG_MS);
    printf("  aio_error=%s aio_return=%zd\n", en(e), aio_return(&a));
    printf("aio_write(at the limit) = %d\n", aio_write(&b));
    e = wait_done(&b, LONG_MS);
    printf("  aio_error=%s aio_return=%zd\n", en(e), aio_return(&b));
    sleep_ms(50); /* a handler would have run by now */
    printf("SIGXFSZ handler ran in this process: %s\n", atomic_load(&handled) ? "yes" : "no");

    printf("bystander still in progress: %d\n", aio_error(&by) == EINPROGRESS);
    CHECK(write(p[1], "hello", 5) == 5);
    e = wait_done(&by, LONG_MS);
    printf("bystander: aio_error=%s aio_return=%zd data ok=%d\n", en(e), aio_return(&by),
           memcmp(pb, "hello", 5) == 0);

    fill_pat(buf, 4096, 0);
    cb_init(&c, fd, buf, 4096, 0);
    printf("aio_write(below the limit) = %d\n", aio_write(&c));
    e = wait_done(&c, LONG_MS);
    printf("  aio_error=%s aio_return=%zd\n", en(e), aio_return(&c));
    char *rb = aligned_buf(4096);
    CHECK(pread(fd, rb, 4096, LIM - 4096) == 4096);
    printf("straddling write's first 4 KiB on disk: %d\n", check_pat(rb, 4096, LIM - 4096));
    CHECK(pread(fd, rb, 4096, 0) == 4096);
    printf("later write on disk: %d\n", check_pat(rb, 4096, 0));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("file size = %lld\n", (long long)st.st_size);
    unlink("fsize.dat");
    return rel_exit();
}
