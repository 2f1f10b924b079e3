/* Buffered regular-file reads and writes the shim serves at once from the
 * page cache (RWF_NOWAIT) or, when that would block, on a worker thread:
 * whichever way, the results are glibc's.  Cached data; a read that runs
 * past EOF (the cached part, then the rest); a read at EOF; data dropped
 * from the cache (fsync + POSIX_FADV_DONTNEED); a write then a read-back;
 * each with SIGEV_NONE and with SIGEV_SIGNAL. */
// EXPECT-STAT nowait>0
#include "common.h"

static void one(const char *what, int fd, int write_op, char *buf, size_t n, off_t off, int sig)
{
    struct aiocb c;
    cb_init(&c, fd, buf, n, off);
    if (sig)
        cb_signal(&c, sig, 7);
    int rc = write_op ? aio_write(&c) : aio_read(&c);
    printf("%s%s: submit=%d", what, sig ? " (signal)" : "", rc);
    int e = wait_done(&c, LONG_MS);
    printf(" error=%s return=%zd", en(e), aio_return(&c));
    if (sig) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int got = wait_signal(sig, LONG_MS, &si) == sig;
        printf(" signal=%d value=%d", got, si.si_value.sival_int);
    }
    printf("\n");
}

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_file(3 * 4096 + 100);
    static char b[16384], w[4096];
    for (int sig = 0; sig <= SIG; sig += SIG) {
        one("cached 4096 at 0", fd, 0, b, 4096, 0, sig);
        printf("  data ok=%d\n", check_pat(b, 4096, 0));
        one("8192 at 8192 (EOF inside)", fd, 0, b, 8192, 8192, sig);
        printf("  data ok=%d\n", check_pat(b, 4196, 8192));
        one("100 at EOF", fd, 0, b, 100, 3 * 4096 + 100, sig);
        CHECK(fsync(fd) == 0);
        CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
        one("cold 4096 at 4096", fd, 0, b, 4096, 4096, sig);
        printf("  data ok=%d\n", check_pat(b, 4096, 4096));
        fill_pat(w, 4096, 4096);
        one("write 4096 at 4096", fd, 1, w, 4096, 4096, sig);
        one("read back", fd, 0, b, 4096, 4096, sig);
        printf("  data ok=%d\n", check_pat(b, 4096, 4096));
    }
    close(fd);
    return 0;
}
