/* ENOSPC: fill a small filesystem with many concurrent aio_writes.
 *
 * usage: enospc DIR buffered|direct
 *
 * DIR is on a small filesystem (an 8 MiB ext4 image, a tmpfs with size=).
 * 48 writes of 256 KiB (12 MiB) are in flight at once on one fd; each ends
 * complete, short or ENOSPC. Checked: every request completes, no error
 * other than ENOSPC, every byte a request reported written reads back
 * intact, aio_fsync afterwards succeeds, a bystander read on an empty pipe
 * and reads of a file on another filesystem (the current directory) are
 * unaffected, and once space is freed the same fd takes new writes.
 */
#include "../rel.h"

#define N 48
#define SZ (256 << 10)

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage");
    int direct = strcmp(argv[2], "direct") == 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fill.dat", argv[1]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0644);
    if (fd < 0 && direct && errno == EINVAL) {
        printf("SKIP: no O_DIRECT on %s\n", argv[1]);
        return 0;
    }
    CHECK(fd >= 0);

    /* bystanders: an empty pipe, and a file on another filesystem */
    int p[2];
    CHECK(pipe(p) == 0);
    static char pb[8];
    struct aiocb by;
    cb_init(&by, p[0], pb, 5, 0);
    CHECK(aio_read(&by) == 0);
    int ofd = make_file_at("bystander.dat", 1 << 20, O_RDONLY);
    CHECK(ofd >= 0);
    static struct aiocb ob[8];
    char *obuf = aligned_buf(8 * 4096);

    char *buf = aligned_buf((size_t)N * SZ);
    fill_pat(buf, (size_t)N * SZ, 0);
    static struct aiocb w[N];
    int subfail = 0;
    for (int i = 0; i < N; i++) {
        cb_init(&w[i], fd, buf + (size_t)i * SZ, SZ, (off_t)i * SZ);
        if (aio_write(&w[i]) != 0)
            subfail++;
        if (i < 8) {
            cb_init(&ob[i], ofd, obuf + i * 4096, 4096, (off_t)i * 65536);
            CHECK(aio_read(&ob[i]) == 0);
        }
    }
    printf("submissions refused: %d\n", subfail);
    int left = wait_array(w, N, LONG_MS * 3);
    printf("all writes completed: %d\n", left == 0);
    if (left)
        BAD("%d writes still in progress", left);
    int full = 0, shrt = 0, nospc = 0, other = 0;
    long long acked = 0;
    char *rb = aligned_buf(SZ);
    int intact = 1;
    for (int i = 0; i < N; i++) {
        int e = aio_error(&w[i]);
        ssize_t r = aio_return(&w[i]);
        if (e == 0 && r == SZ)
            full++;
        else if (e == 0 && r > 0 && r < SZ)
            shrt++;
        else if (e == ENOSPC && r == -1)
            nospc++;
        else {
            other++;
            printf("  write %d: aio_error=%s aio_return=%zd\n", i, en(e), r);
        }
        if (e == 0 && r > 0) {
            acked += r;
            ssize_t got = pread(fd, rb, SZ, (off_t)i * SZ);
            if (got < r || !check_pat(rb, (size_t)r, (off_t)i * SZ)) {
                intact = 0;
                BAD("write %d: %zd bytes acknowledged, %zd read back or content differs", i, r, got);
            }
        }
    }
    printf("some writes complete: %d\n", full > 0);
    printf("some writes ENOSPC: %d\n", nospc > 0);
    printf("other errors: %d\n", other);
    printf("acknowledged bytes intact: %d\n", intact);
    /* glibc: requests run one at a time, so at most one is short */
    (void)shrt;
    fprintf(stderr, "full=%d short=%d enospc=%d acked=%lld\n", full, shrt, nospc, acked);

    struct aiocb fs;
    cb_init(&fs, fd, NULL, 0, 0);
    printf("aio_fsync(O_SYNC) on the full filesystem = %d\n", aio_fsync(O_SYNC, &fs));
    int e = wait_done(&fs, LONG_MS);
    printf("  aio_error=%s aio_return=%zd\n", en(e), aio_return(&fs));

    int oleft = wait_array(ob, 8, LONG_MS);
    int ook = 1;
    for (int i = 0; i < 8; i++)
        if (aio_error(&ob[i]) != 0 || aio_return(&ob[i]) != 4096 ||
            !check_pat(obuf + i * 4096, 4096, (off_t)i * 65536))
            ook = 0;
    printf("reads on another filesystem: completed=%d ok=%d\n", oleft == 0, ook);
    printf("pipe bystander still in progress: %d\n", aio_error(&by) == EINPROGRESS);
    CHECK(write(p[1], "hello", 5) == 5);
    e = wait_done(&by, LONG_MS);
    printf("pipe bystander: aio_error=%s aio_return=%zd data ok=%d\n", en(e), aio_return(&by),
           memcmp(pb, "hello", 5) == 0);

    /* free the space: the same fd takes new writes */
    CHECK(ftruncate(fd, 0) == 0);
    if (!direct)
        CHECK(fsync(fd) == 0);
    struct aiocb again[4];
    for (int i = 0; i < 4; i++) {
        cb_init(&again[i], fd, buf + (size_t)i * SZ, SZ, (off_t)i * SZ);
        CHECK(aio_write(&again[i]) == 0);
    }
    left = wait_array(again, 4, LONG_MS);
    int aok = left == 0;
    for (int i = 0; i < 4; i++)
        if (aio_error(&again[i]) != 0 || aio_return(&again[i]) != SZ)
            aok = 0;
    for (int i = 0; i < 4 && aok; i++)
        if (pread(fd, rb, SZ, (off_t)i * SZ) != SZ || !check_pat(rb, SZ, (off_t)i * SZ))
            aok = 0;
    printf("after freeing space: 4 writes of 256 KiB ok and intact: %d\n", aok);
    close(fd);
    unlink(path);
    unlink("bystander.dat");
    return rel_exit();
}
