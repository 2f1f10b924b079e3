/* Bad descriptors are reported through aio_error, not at submit:
 * closed fd / -1 -> EBADF; read on a write-only fd and write on a read-only
 * fd -> EBADF; read on a directory -> EISDIR. */
#include "common.h"

static void one(const char *label, int fd, int write)
{
    static char buf[64];
    struct aiocb cb;
    cb_init(&cb, fd, buf, sizeof buf, 0);
    char l[128];
    snprintf(l, sizeof l, "%s(%s)", write ? "aio_write" : "aio_read", label);
    SHOW(l, write ? aio_write(&cb) : aio_read(&cb));
    printf("  opcode=%d wait=%s\n", cb.aio_lio_opcode, en(wait_done(&cb, LONG_MS)));
    show_cb("  result", &cb);
}

int main(void)
{
    int cfd = closed_fd();
    one("closed fd", cfd, 0);
    one("closed fd", cfd, 1);
    one("fd -1", -1, 0);
    one("fd -1", -1, 1);
    int wo = make_file_flags(4096, O_WRONLY);
    CHECK(wo >= 0);
    one("write-only fd", wo, 0);
    int ro = make_file_flags(4096, O_RDONLY);
    CHECK(ro >= 0);
    one("read-only fd", ro, 1);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0);
    one("directory", d, 0);
    one("directory", d, 1);
    int p[2];
    CHECK(pipe(p) == 0);
    one("pipe write end", p[1], 0);
    one("pipe read end", p[0], 1);
    return 0;
}
