/* An O_APPEND write holds its fd: what is submitted after it on that fd
 * waits until it ends (glibc runs one request per fd at a time; the shim
 * makes O_APPEND writes exclusive, src/route.rs `exclusive`).
 *
 * usage: append_queued DIR   (DIR: the suite's FUSE filesystem, fusefs.c;
 *                             every write to DIR/slow takes a second)
 *
 * DIR/slow opened O_RDWR | O_APPEND. An append is submitted and given
 * 200 ms to reach the filesystem, where it stays for a second. Then, each
 * given 200 ms to start if it would: a read at offset 0 on the same fd, and
 * a second append. Both are still queued: aio_cancel cancels each
 * (AIO_CANCELED). Were the append not exclusive, the read (positional, and
 * a buffered read runs beside other requests) would have started: done, or
 * waiting in the filesystem, and not cancellable. Then the first append
 * ends (4 bytes) and the file grew by those only.
 */
#include "../rel.h"

static const char *cancel_name(int r)
{
    switch (r) {
    case AIO_CANCELED: return "AIO_CANCELED";
    case AIO_NOTCANCELED: return "AIO_NOTCANCELED";
    case AIO_ALLDONE: return "AIO_ALLDONE";
    default: return r == -1 ? en(errno) : "?";
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        die("usage");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/slow", argv[1]);
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    off_t before = st.st_size; /* the glibc and shim runs share the mount */

    static char a1[4] = "AAAA", a2[4] = "BBBB", rb[4];
    struct aiocb cbs[3]; /* the append, the read, the second append */
    struct aiocb *w1 = &cbs[0], *r = &cbs[1], *w2 = &cbs[2];
    cb_init(w1, fd, a1, 4, 0);
    CHECK(aio_write(w1) == 0);
    sleep_us(200000);

    cb_init(r, fd, rb, 4, 0);
    CHECK(aio_read(r) == 0);
    sleep_us(200000);
    printf("read behind the append: aio_error=%s\n", en(aio_error(r)));
    printf("cancel the read: %s\n", cancel_name(aio_cancel(fd, r)));

    cb_init(w2, fd, a2, 4, 0);
    CHECK(aio_write(w2) == 0);
    sleep_us(200000);
    printf("second append: aio_error=%s\n", en(aio_error(w2)));
    printf("cancel the second append: %s\n", cancel_name(aio_cancel(fd, w2)));

    int left = wait_array(cbs, 3, LONG_MS);
    printf("all ended: %d\n", left == 0);
    printf("append: aio_error=%s aio_return=%zd\n", en(aio_error(w1)), aio_return(w1));
    printf("read: aio_error=%s aio_return=%zd\n", en(aio_error(r)), aio_return(r));
    printf("second append: aio_error=%s aio_return=%zd\n", en(aio_error(w2)), aio_return(w2));
    CHECK(fstat(fd, &st) == 0);
    printf("the file grew by %lld bytes\n", (long long)(st.st_size - before));
    close(fd);
    return rel_exit();
}
