/* direct_locks.c - AIO_SHIM_DIRECT=1 keeps the program's POSIX record
 * locks and fd table intact.  In DIR: F1 (locked through fd A), F3.
 *  1. unaligned and aligned aio_reads of F1 through A and through a second
 *     fd C of F1 (the shim opens O_DIRECT twins for them); data checked;
 *  2. the program closes C (dropping its locks, as POSIX says), locks F1
 *     again through A, opens F3, which gets C's number, and reads it with
 *     aio_read: the shim must notice C now names F3 (data checked) and
 *     retire F1's twin without dropping the new lock;
 *  3. a forked child asks F_GETLK: the parent's lock must still be there;
 *  4. the program's fd count is the same as before any AIO.
 * Prints one line per check ("... ok=1"); exit 0 when all hold.
 * Usage: direct_locks DIR */
#define _GNU_SOURCE 1
#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static char pat(int file, long i) { return (char)(file * 31 + i * 7 + (i >> 9)); }

static int make(const char *path, int file)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    static char buf[1 << 16];
    for (long i = 0; i < (long)sizeof buf; i++)
        buf[i] = pat(file, i);
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
        exit(1);
    return fd;
}

/* aio_read len bytes at off of fd; 1 if they match file's pattern */
static int aread(int fd, int file, off_t off, size_t len)
{
    static char buf[1 << 16];
    struct aiocb c;
    memset(&c, 0, sizeof c);
    memset(buf, 0, len);
    c.aio_fildes = fd;
    c.aio_buf = buf;
    c.aio_nbytes = len;
    c.aio_offset = off;
    if (aio_read(&c))
        return 0;
    const struct aiocb *l[] = { &c };
    while (aio_error(&c) == EINPROGRESS)
        aio_suspend(l, 1, NULL);
    if (aio_return(&c) != (ssize_t)len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pat(file, off + (long)i))
            return 0;
    return 1;
}

static int lock(int fd, short type)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
    return fcntl(fd, F_SETLK, &fl);
}

int main(int argc, char **argv)
{
    if (argc != 2 || chdir(argv[1]))
        return 2;
    int before = count_fds();
    int a = make("f1", 1);
    int f3 = make("f3", 3);
    close(f3);
    int c = open("f1", O_RDONLY);
    before += 1; /* a; c is counted below */
    printf("lock F1 through A ok=%d\n", lock(a, F_WRLCK) == 0);
    int ok = aread(a, 1, 0, 4096) && aread(a, 1, 100, 1000) && aread(c, 1, 8192, 4096) && aread(c, 1, 5, 70000 - 65536);
    printf("reads of F1 through A and C (twins) ok=%d\n", ok);
    int cnum = c;
    close(c);                 /* the program's own close: its locks go */
    printf("lock F1 again through A ok=%d\n", lock(a, F_WRLCK) == 0);
    int c3 = open("f3", O_RDONLY);
    printf("F3 reuses C's number ok=%d\n", c3 == cnum);
    printf("read of C now F3 ok=%d\n", aread(c3, 3, 512, 3000) && aread(c3, 3, 0, 8192));
    printf("read of F1 through A again ok=%d\n", aread(a, 1, 4096, 4096));
    pid_t me = getpid(), p = fork();
    if (p == 0) {
        int fd = open("f1", O_RDWR);
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
        fcntl(fd, F_GETLK, &fl);
        _exit(fl.l_type == F_WRLCK && fl.l_pid == me ? 0 : 1);
    }
    int st;
    waitpid(p, &st, 0);
    printf("lock still held, seen from another process ok=%d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("program's fd count unchanged ok=%d\n", count_fds() == before + 1);
    close(a);
    close(c3);
    unlink("f1");
    unlink("f3");
    return 0;
}
