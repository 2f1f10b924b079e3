/* A program that never calls AIO, run under LD_PRELOAD=the shim (with
 * AIO_SHIM_STATS and AIO_SHIM_LOG=debug set): exactly one thread, no fd
 * beyond its own, nothing on stdout or stderr, no stats file, before and
 * after ordinary I/O, a fork and an exit.
 */
#define REL_NO_WATCHDOG
#include "../rel.h"

static void facts(const char *label)
{
    FILE *f = fopen("/proc/self/status", "re");
    CHECK(f);
    char line[256];
    int threads = -1;
    while (fgets(line, sizeof line, f))
        sscanf(line, "Threads: %d", &threads);
    fclose(f);
    printf("%s: threads=%d fds=%d\n", label, threads, count_fds());
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    facts("at start");
    int fd = open("noaio.dat", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    char b[4096];
    memset(b, 'a', sizeof b);
    CHECK(pwrite(fd, b, sizeof b, 0) == (ssize_t)sizeof b);
    CHECK(fsync(fd) == 0);
    CHECK(pread(fd, b, sizeof b, 0) == (ssize_t)sizeof b);
    close(fd);
    unlink("noaio.dat");
    facts("after I/O");
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        facts("child");
        exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    facts("after fork");
    return 0;
}
