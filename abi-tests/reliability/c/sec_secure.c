/* Secure execution (AT_SECURE: a setuid program): every AIO_SHIM_*
 * setting is ignored.
 *
 * The runner builds this program linked against a copy of the shim
 * (DT_NEEDED with an absolute path: the loader ignores a LD_PRELOAD path
 * in secure mode, but not this), makes a setuid copy owned by another
 * user, and runs both copies with AIO_SHIM_BACKEND=pool AIO_SHIM_THREADS=1
 * AIO_SHIM_STATS=PATH AIO_SHIM_LOG=debug. The program reports what it can
 * see of the shim: a kernel AIO thread after an O_DIRECT read (BACKEND=pool
 * would forbid it), worker threads while 4 reads block on 4 pipes
 * (THREADS=1 would allow one). The runner checks the stats file and the
 * log lines on stderr: present in the plain run, absent in the setuid run.
 */
#include "../rel.h"
#include <sys/auxv.h>

int main(void)
{
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    int fd = make_file_at("secure.dat", 1 << 20, O_RDONLY | O_DIRECT);
    if (fd < 0 && errno == EINVAL) {
        printf("SKIP no O_DIRECT\n");
        return 0;
    }
    CHECK(fd >= 0);
    char *b = aligned_buf(4096);
    struct aiocb c;
    cb_init(&c, fd, b, 4096, 8192);
    CHECK(aio_read(&c) == 0);
    int e = wait_done(&c, LONG_MS);
    printf("O_DIRECT aio_read: %s %zd ok=%d\n", en(e), aio_return(&c), check_pat(b, 4096, 8192));
    printf("kernel AIO thread: %d\n", count_threads("aio-shim-kaio"));
    int p[4][2];
    struct aiocb pr[4];
    static char pb[4][4];
    for (int i = 0; i < 4; i++) {
        CHECK(pipe2(p[i], O_CLOEXEC) == 0);
        cb_init(&pr[i], p[i][0], pb[i], 1, 0);
        CHECK(aio_read(&pr[i]) == 0);
    }
    sleep_ms(200);
    printf("worker threads with 4 reads blocked on 4 pipes: %d\n", count_threads("aio-shim-pool"));
    for (int i = 0; i < 4; i++)
        CHECK(write(p[i][1], "x", 1) == 1);
    printf("pipe reads completed: %d\n", wait_array(pr, 4, LONG_MS) == 0);
    unlink("secure.dat");
    return rel_exit();
}
