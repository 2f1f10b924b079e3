/* setrlimit, setrlimit64, prlimit and prlimit64 (which the shim's stub
 * exports, to count RLIMIT_FSIZE changes) give glibc's results and errnos;
 * an O_DIRECT AIO write after each change of RLIMIT_FSIZE sees the new
 * limit (the shim caches it between changes). */
// EXPECT-STAT kaio>0
#include "common.h"
#include <sys/resource.h>

static void try_write(int fd, off_t off)
{
    static char *buf;
    if (!buf)
        buf = aligned_buf(4096);
    struct aiocb c;
    cb_init(&c, fd, buf, 4096, off);
    int r = aio_write(&c);
    int e = r == 0 ? wait_done(&c, LONG_MS) : errno;
    printf("  aio_write at %lld: %d, aio_error=%s aio_return=%zd\n", (long long)off, r, en(e),
           r == 0 ? aio_return(&c) : -1);
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit r = { 1, 1 }, old;
    int v;
    errno = 0;
    v = setrlimit(999, &r);
    printf("setrlimit(999) = %d %s\n", v, en(errno));
    errno = 0;
    v = setrlimit64(RLIMIT_FSIZE, (void *)1);
    printf("setrlimit64(bad pointer) = %d %s\n", v, en(errno));
    errno = 0;
    v = prlimit(999999999, RLIMIT_FSIZE, NULL, &old);
    printf("prlimit(no such pid) = %d %s\n", v, en(errno));
    errno = 0;
    r.rlim_cur = RLIM_INFINITY;
    r.rlim_max = RLIM_INFINITY;
    v = setrlimit(RLIMIT_NOFILE, &r);
    printf("setrlimit(NOFILE, infinity) = %d %s\n", v, en(errno));

    int fd = make_direct_file(0);
    try_write(fd, 1 << 20);
    struct rlimit lim = { 1 << 20, RLIM_INFINITY };
    printf("setrlimit(FSIZE, 1 MiB) = %d\n", setrlimit(RLIMIT_FSIZE, &lim));
    try_write(fd, 1 << 20);
    lim.rlim_cur = 2 << 20;
    printf("setrlimit64(FSIZE, 2 MiB) = %d\n", setrlimit64(RLIMIT_FSIZE, (struct rlimit64 *)&lim));
    try_write(fd, 1 << 20);
    lim.rlim_cur = 1 << 19;
    printf("prlimit(0, FSIZE, 512 KiB) = %d\n", prlimit(0, RLIMIT_FSIZE, &lim, &old));
    printf("  old soft limit %llu\n", (unsigned long long)old.rlim_cur);
    try_write(fd, 1 << 20);
    lim.rlim_cur = RLIM_INFINITY;
    printf("prlimit64(0, FSIZE, infinity) = %d\n", prlimit64(0, RLIMIT_FSIZE, (struct rlimit64 *)&lim, NULL));
    try_write(fd, 1 << 20);
    close(fd);
    return 0;
}
