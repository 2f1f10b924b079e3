/* The fd's flags are remembered for a few requests on the page-cache fast
 * path (backend/nowait.rs `flags`): when the same fd number turns O_DIRECT
 * (F_SETFL, then close + dup2 of an O_DIRECT file), the shim must notice
 * within 16 requests and hand the rest to kernel AIO, never keep serving
 * O_DIRECT reads synchronously in the caller.  Every read's data is
 * checked (the same transcript as glibc); the stats prove the routing:
 * 2 x 64 O_DIRECT reads, at most 2 x 15 of them served on the fast path. */
#include "common.h"

// EXPECT-STAT kaio>=98

#define FDN 77

static int reads(int fd, int n, int direct)
{
    char *b = aligned_buf(4096);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        struct aiocb c;
        off_t off = (off_t)((i * 7) % 16) * 4096;
        cb_init(&c, fd, direct ? b : b + 1, direct ? 4096 : 100, off);
        if (aio_read(&c) != 0)
            continue;
        int w = wait_done(&c, LONG_MS);
        ssize_t r = aio_return(&c);
        ok += w == 0 && r == (direct ? 4096 : 100) && check_pat(direct ? b : b + 1, (size_t)r, off);
    }
    free(b);
    return ok;
}

int main(void)
{
    int f = make_file(1 << 16);
    CHECK(dup2(f, FDN) == FDN);
    close(f);
    printf("buffered reads ok: %d of 20\n", reads(FDN, 20, 0));
    int fl = fcntl(FDN, F_GETFL);
    if (fcntl(FDN, F_SETFL, fl | O_DIRECT) != 0) {
        printf("O_DIRECT not supported: skipped\n");
        return 0;
    }
    printf("after F_SETFL O_DIRECT, reads ok: %d of 64\n", reads(FDN, 64, 1));
    CHECK(fcntl(FDN, F_SETFL, fl) == 0);
    printf("buffered again, reads ok: %d of 20\n", reads(FDN, 20, 0));
    close(FDN);
    int d = make_file_flags(1 << 16, O_RDWR | O_DIRECT);
    CHECK(d >= 0);
    CHECK(dup2(d, FDN) == FDN);
    close(d);
    printf("fd number now an O_DIRECT file, reads ok: %d of 64\n", reads(FDN, 64, 1));
    close(FDN);
    return 0;
}
