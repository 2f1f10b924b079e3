/* O_DIRECT writes then reads, 64 in flight, on one fd, in the parent and in
 * a forked child ("fork"); results and content checked. Used with fs.aio-max-nr
 * exhausted (io_setup fails with EAGAIN): the same results, served by the
 * worker pool (the runner checks the shim's stats).
 */
#include "../rel.h"

#define NB 256
#define BS 4096
#define DEPTH 64

static int run(const char *name, const char *label)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EINVAL) {
        printf("%s: SKIP no O_DIRECT\n", label);
        return 1;
    }
    CHECK(fd >= 0);
    char *buf = aligned_buf((size_t)NB * BS);
    fill_pat(buf, (size_t)NB * BS, 0);
    static struct aiocb cb[DEPTH];
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            memset(buf, 0, (size_t)NB * BS);
        for (int base = 0; base < NB; base += DEPTH) {
            for (int i = 0; i < DEPTH; i++) {
                int blk = base + i;
                cb_init(&cb[i], fd, buf + (size_t)blk * BS, BS, (off_t)blk * BS);
                if ((pass == 0 ? aio_write(&cb[i]) : aio_read(&cb[i])) != 0) {
                    ok = 0;
                    cb[i].aio_fildes = -1;
                }
            }
            if (wait_array(cb, DEPTH, LONG_MS))
                ok = 0;
            for (int i = 0; i < DEPTH; i++)
                if (aio_error(&cb[i]) != 0 || aio_return(&cb[i]) != BS)
                    ok = 0;
        }
    }
    int content = check_pat(buf, (size_t)NB * BS, 0);
    printf("%s: %d writes and %d reads of 4 KiB, %d in flight: results ok=%d content ok=%d\n", label, NB,
           NB, DEPTH, ok, content);
    close(fd);
    unlink(name);
    free(buf);
    return ok && content;
}

int main(int argc, char **argv)
{
    run("direct_rw.parent", "parent");
    if (argc < 2 || strcmp(argv[1], "fork") != 0)
        return rel_exit();
    /* glibc's child hangs here (its parent's idle helper threads do not
     * exist in the child): run with "fork" under the shim only */
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0)
        exit(run("direct_rw.child", "child") ? 0 : 1); /* exit: the shim reports its stats */
    int st;
    long long end = now_ms() + LONG_MS;
    while (waitpid(c, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(c, SIGKILL);
            waitpid(c, &st, 0);
            BAD("child hung");
            break;
        }
        sleep_ms(5);
    }
    printf("child exit status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    run("direct_rw.parent", "parent again");
    return rel_exit();
}
