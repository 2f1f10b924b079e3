/* EIO from the filesystem (the suite's FUSE filesystem, fusefs.c).
 *
 * usage: eio DIR buffered|odirect|fusedirect
 *
 * buffered: DIR/data through the page cache; odirect: DIR/data opened
 * O_DIRECT (kernel AIO under the shim); fusedirect: DIR/direct (FUSE
 * direct_io). 8 reads in flight, one of them on the failing range: it ends
 * EIO, the others with their data; 4 writes, one on the failing range: it
 * ends EIO, the others complete; aio_fsync on DIR/badsync ends EIO; a
 * bystander pipe read is unaffected; later requests on the same fd work.
 */
#include "../rel.h"

#define K 1024

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage");
    const char *mode = argv[2];
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", argv[1], strcmp(mode, "fusedirect") == 0 ? "direct" : "data");
    int fd = open(path, O_RDWR | O_CLOEXEC | (strcmp(mode, "odirect") == 0 ? O_DIRECT : 0));
    if (fd < 0 && errno == EINVAL) {
        printf("SKIP: no O_DIRECT\n");
        return 0;
    }
    CHECK(fd >= 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    static char pb[8];
    struct aiocb by;
    cb_init(&by, p[0], pb, 5, 0);
    CHECK(aio_read(&by) == 0);

    char *rb = aligned_buf(8 * 4096);
    struct aiocb r[8];
    off_t roff[8] = { 0, 64 * K, 128 * K, 192 * K, 256 * K, 320 * K, 384 * K, 448 * K };
    for (int i = 0; i < 8; i++) {
        cb_init(&r[i], fd, rb + i * 4096, 4096, roff[i]);
        CHECK(aio_read(&r[i]) == 0);
    }
    int left = wait_array(r, 8, LONG_MS);
    printf("reads completed: %d\n", left == 0);
    for (int i = 0; i < 8; i++) {
        int e = aio_error(&r[i]);
        printf("  read at %3lld KiB: aio_error=%s aio_return=%zd data ok=%d\n", (long long)roff[i] / K, en(e),
               aio_return(&r[i]), e == 0 && check_pat(rb + i * 4096, 4096, roff[i]));
    }
    char *wb = aligned_buf(4 * 4096);
    struct aiocb w[4];
    off_t woff[4] = { 0, 32 * K, 512 * K, 576 * K };
    for (int i = 0; i < 4; i++) {
        fill_pat(wb + i * 4096, 4096, woff[i]); /* the same bytes: the file stays as it was */
        cb_init(&w[i], fd, wb + i * 4096, 4096, woff[i]);
        CHECK(aio_write(&w[i]) == 0);
    }
    left = wait_array(w, 4, LONG_MS);
    printf("writes completed: %d\n", left == 0);
    for (int i = 0; i < 4; i++)
        printf("  write at %3lld KiB: aio_error=%s aio_return=%zd\n", (long long)woff[i] / K, en(aio_error(&w[i])),
               aio_return(&w[i]));

    snprintf(path, sizeof path, "%s/badsync", argv[1]);
    int sfd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(sfd >= 0);
    struct aiocb sw, fs;
    cb_init(&sw, sfd, wb, 4096, 0);
    CHECK(aio_write(&sw) == 0);
    cb_init(&fs, sfd, NULL, 0, 0);
    printf("aio_fsync(badsync) = %d\n", aio_fsync(O_SYNC, &fs));
    int e = wait_done(&fs, LONG_MS);
    printf("  write before it: aio_error=%s aio_return=%zd\n", en(wait_done(&sw, LONG_MS)), aio_return(&sw));
    printf("  fsync: aio_error=%s aio_return=%zd\n", en(e), aio_return(&fs));

    printf("pipe bystander still in progress: %d\n", aio_error(&by) == EINPROGRESS);
    CHECK(write(p[1], "hello", 5) == 5);
    e = wait_done(&by, LONG_MS);
    printf("pipe bystander: aio_error=%s data ok=%d\n", en(e), memcmp(pb, "hello", 5) == 0);

    struct aiocb again;
    cb_init(&again, fd, rb, 4096, 8 * K * 4);
    CHECK(aio_read(&again) == 0);
    e = wait_done(&again, LONG_MS);
    printf("later read on the same fd: aio_error=%s aio_return=%zd data ok=%d\n", en(e), aio_return(&again),
           e == 0 && check_pat(rb, 4096, 8 * K * 4));
    return rel_exit();
}
