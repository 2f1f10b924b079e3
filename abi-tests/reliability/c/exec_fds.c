/* After AIO of every kind (kernel AIO, worker threads, SIGEV_THREAD), the
 * process's descriptors are its own (listed with their close-on-exec flag
 * and kind) plus, possibly, internal anonymous-inode descriptors of the
 * implementation (io_uring, eventfd) that must be close-on-exec (those are
 * not listed unless they lack FD_CLOEXEC); and a child that execs
 * `ls /proc/self/fd` (fork+exec, and posix_spawn) sees only what glibc's
 * sees: nothing leaks across exec.
 */
#include "../rel.h"
#include <spawn.h>

extern char **environ;

static void list_fds(const char *label)
{
    DIR *d = opendir("/proc/self/fd");
    CHECK(d);
    int dfd = dirfd(d);
    struct dirent *e;
    char lines[64][400];
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dfd)
            continue;
        int fd = atoi(e->d_name);
        char p[64], t[256] = "";
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        ssize_t k = readlink(p, t, sizeof t - 1);
        t[k > 0 ? k : 0] = 0;
        const char *kind = t;
        if (strncmp(t, "pipe:", 5) == 0)
            kind = "pipe";
        else if (strrchr(t, '/') && t[0] == '/' && strncmp(t, "/dev/", 5) != 0)
            kind = strrchr(t, '/') + 1;
        else if (strncmp(t, "/dev/pts", 8) == 0)
            kind = "tty";
        int fl = fcntl(fd, F_GETFD);
        if (strncmp(t, "anon_inode:", 11) == 0 && fl >= 0 && (fl & FD_CLOEXEC))
            continue; /* an implementation's internal fd, gone at exec */
        if (n < 64)
            snprintf(lines[n++], sizeof lines[0], "%s: fd %d %s%s\n", label, fd, kind,
                     fl >= 0 && (fl & FD_CLOEXEC) ? " cloexec" : "");
    }
    closedir(d);
    /* readdir order is not sorted */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (atoi(strchr(lines[j], 'd') + 2) < atoi(strchr(lines[i], 'd') + 2)) {
                char tmp[400];
                memcpy(tmp, lines[i], sizeof tmp);
                memcpy(lines[i], lines[j], sizeof tmp);
                memcpy(lines[j], tmp, sizeof tmp);
            }
    for (int i = 0; i < n; i++)
        fputs(lines[i], stdout);
}

static atomic_int notes;
static void note(union sigval v) { (void)v; atomic_fetch_add(&notes, 1); }

static void run_ls(const char *how)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    pid_t c;
    char *argv[] = { "ls", "/proc/self/fd", NULL };
    if (strcmp(how, "fork+exec") == 0) {
        fflush(stdout);
        c = fork();
        CHECK(c >= 0);
        if (c == 0) {
            dup2(p[1], 1);
            execv("/bin/ls", argv);
            _exit(127);
        }
    } else {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        CHECK(posix_spawn(&c, "/bin/ls", &fa, NULL, argv, environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
    }
    close(p[1]);
    char out[512] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof out - 1 && (r = read(p[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = 0;
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    for (char *s = out; *s; s++)
        if (*s == '\n')
            *s = ' ';
    printf("%s: ls /proc/self/fd in the child: %s(exit %d)\n", how, out, WEXITSTATUS(st));
}

int main(void)
{
    list_fds("before AIO");
    int dfd = make_file_at("exec_fds.d", 1 << 20, O_RDONLY | O_DIRECT);
    if (dfd < 0 && errno == EINVAL)
        dfd = make_file_at("exec_fds.d", 1 << 20, O_RDONLY);
    CHECK(dfd >= 0);
    int bfd = open("exec_fds.b", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(bfd >= 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    char *buf = aligned_buf(16 * 4096);
    struct aiocb c[16];
    for (int i = 0; i < 8; i++) {
        cb_init(&c[i], dfd, buf + i * 4096, 4096, (off_t)i * 4096);
        CHECK(aio_read(&c[i]) == 0);
    }
    for (int i = 8; i < 15; i++) {
        cb_init(&c[i], bfd, buf + i * 4096, 4096, (off_t)i * 4096);
        c[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
        c[i].aio_sigevent.sigev_notify_function = note;
        CHECK(aio_write(&c[i]) == 0);
    }
    cb_init(&c[15], p[0], buf + 15 * 4096, 2, 0);
    CHECK(aio_read(&c[15]) == 0);
    CHECK(write(p[1], "hi", 2) == 2);
    int left = wait_array(c, 16, LONG_MS);
    struct aiocb fs;
    cb_init(&fs, bfd, NULL, 0, 0);
    CHECK(aio_fsync(O_DSYNC, &fs) == 0);
    int e = wait_done(&fs, LONG_MS);
    long long end = now_ms() + LONG_MS;
    while (atomic_load(&notes) < 7 && now_ms() < end)
        sleep_ms(1);
    printf("AIO done: left=%d fsync=%s notifications=%d\n", left, en(e), atomic_load(&notes));
    list_fds("after AIO");
    run_ls("fork+exec");
    run_ls("posix_spawn");
    close(dfd);
    close(bfd);
    close(p[0]);
    close(p[1]);
    list_fds("after closing ours");
    unlink("exec_fds.d");
    unlink("exec_fds.b");
    return rel_exit();
}
