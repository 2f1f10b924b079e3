/* A descriptor number that changes what it refers to between requests
 * (close + dup2, fcntl F_SETFL O_DIRECT): each request must be served
 * according to what the fd is at submit time, not a cached idea of it. */
#include "common.h"

#define FDN 100

static void read_at(const char *label, int fd, char *buf, size_t n, off_t off, off_t patoff)
{
    struct aiocb c;
    memset(buf, 0, n);
    cb_init(&c, fd, buf, n, off);
    SHOW(label, aio_read(&c));
    int w = wait_done(&c, LONG_MS);
    ssize_t r = aio_return(&c);
    printf("  wait=%s return=%zd data ok=%d\n", en(w), r,
           r > 0 && patoff >= 0 ? check_pat(buf, (size_t)r, patoff) : -1);
}

int main(void)
{
    char *b = aligned_buf(3 * 4096);
    /* 1: FDN is a pipe, then a regular file */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(dup2(p[0], FDN) == FDN);
    close(p[0]);
    CHECK(write(p[1], "pipe", 4) == 4);
    read_at("aio_read(fd N = pipe)", FDN, b, 4, 0, -1);
    printf("  data=%.4s\n", b);
    close(FDN);
    close(p[1]);
    int f = make_file(1 << 16);
    CHECK(dup2(f, FDN) == FDN);
    close(f);
    read_at("aio_read(fd N = regular file, offset 1000)", FDN, b, 100, 1000, 1000);
    read_at("aio_read(fd N = regular file, offset 5)", FDN, b, 10, 5, 5);
    close(FDN);

    /* 2: FDN is an O_DIRECT file, then a buffered one (unaligned request) */
    int d = make_file_flags(1 << 16, O_RDWR | O_DIRECT);
    if (d < 0) {
        printf("O_DIRECT not supported: part 2 and 3 skipped\n");
        return 0;
    }
    CHECK(dup2(d, FDN) == FDN);
    close(d);
    read_at("aio_read(fd N = O_DIRECT file, aligned)", FDN, b, 4096, 8192, 8192);
    close(FDN);
    f = make_file(1 << 16);
    CHECK(dup2(f, FDN) == FDN);
    close(f);
    read_at("aio_read(fd N = buffered file, unaligned)", FDN, b + 1, 100, 3, 3);

    /* 3: the same open file: O_DIRECT switched on and off with fcntl */
    int fl = fcntl(FDN, F_GETFL);
    CHECK(fcntl(FDN, F_SETFL, fl | O_DIRECT) == 0);
    read_at("aio_read(after F_SETFL O_DIRECT, aligned)", FDN, b, 4096, 4096, 4096);
    read_at("aio_read(after F_SETFL O_DIRECT, unaligned)", FDN, b + 1, 100, 3, 3);
    CHECK(fcntl(FDN, F_SETFL, fl) == 0);
    read_at("aio_read(after clearing O_DIRECT, unaligned)", FDN, b + 1, 100, 3, 3);
    close(FDN);

    /* 4: a socket, then a regular file */
    int s[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
    CHECK(dup2(s[0], FDN) == FDN);
    close(s[0]);
    CHECK(write(s[1], "sock", 4) == 4);
    read_at("aio_read(fd N = socket)", FDN, b, 4, 0, -1);
    printf("  data=%.4s\n", b);
    close(FDN);
    f = make_file(1 << 16);
    CHECK(dup2(f, FDN) == FDN);
    close(f);
    read_at("aio_read(fd N = regular file again, offset 777)", FDN, b, 50, 777, 777);
    return 0;
}
