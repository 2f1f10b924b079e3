/* stub_probe: the preloaded stub (shim/stub.rs) before and after it loads
 * the engine. Run by abi-tests/check_stub.sh under glibc and under the shim.
 *
 *   stub_probe FILE         aio_error/aio_return/aio_suspend on aiocbs never
 *                           submitted (the stub answers them without the
 *                           engine), then one aio_read of FILE, then the same
 *                           calls again; "=" lines must match glibc's.
 *   stub_probe race FILE    8 threads make their process's first AIO call at
 *                           once (the engine loads exactly once).
 *   stub_probe none         no AIO call at all.
 *   stub_probe chdir DIR FILE  chdir(DIR), then one aio_read of FILE (the
 *                           engine is found although LD_PRELOAD named the
 *                           stub by a path relative to the old directory).
 * "maps:" lines (stderr) say whether libaio_shim.so and the engine are
 * mapped, and "threads:" how many threads the process has.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void maps(const char *when)
{
    char line[4096];
    int stub = 0, engine = 0, threads = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "/libaio_shim.so"))
            stub = 1;
        if (strstr(line, "/libaio_shim_engine.so"))
            engine = 1;
    }
    if (f)
        fclose(f);
    f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            threads = atoi(line + 8);
    if (f)
        fclose(f);
    fprintf(stderr, "maps: %s: stub=%d engine=%d threads=%d\n", when, stub, engine, threads);
}

static void untouched(const char *tag)
{
    struct aiocb cb;
    const struct aiocb *one[1] = {&cb}, *nulls[2] = {NULL, NULL};
    int r;
    memset(&cb, 0, sizeof cb);
    cb.__error_code = 1234;
    cb.__return_value = 77;
    printf("= %s aio_error(fresh) %d\n", tag, aio_error(&cb));
    printf("= %s aio_return(fresh) %zd\n", tag, aio_return(&cb));
    cb.__error_code = EINPROGRESS; /* says in flight, never submitted */
    printf("= %s aio_error(says EINPROGRESS) %d\n", tag, aio_error(&cb));
    errno = 0;
    r = aio_suspend(one, 1, NULL);
    printf("= %s aio_suspend(says EINPROGRESS) %d errno %d\n", tag, r, errno);
    errno = 0;
    r = aio_suspend(nulls, 2, NULL);
    printf("= %s aio_suspend(all NULL) %d errno %d\n", tag, r, errno);
    errno = 0;
    r = aio_suspend(one, -1, NULL);
    printf("= %s aio_suspend(nent -1) %d errno %d\n", tag, r, errno);
}

static int read_one(const char *path)
{
    char buf[512];
    struct aiocb cb;
    const struct aiocb *l[1] = {&cb};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    memset(&cb, 0, sizeof cb);
    cb.aio_fildes = fd;
    cb.aio_buf = buf;
    cb.aio_nbytes = sizeof buf;
    if (aio_read(&cb) != 0) {
        close(fd);
        return -1;
    }
    while (aio_error(&cb) == EINPROGRESS)
        aio_suspend(l, 1, NULL);
    int e = aio_error(&cb);
    ssize_t n = aio_return(&cb);
    close(fd);
    return e == 0 ? (int)n : -1;
}

static const char *race_path;
static pthread_barrier_t barrier;

static void *racer(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier);
    return (void *)(long)read_one(race_path);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "none") == 0) {
        maps("no AIO call");
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "chdir") == 0) {
        if (chdir(argv[2]) != 0)
            return 2;
        printf("= chdir, then aio_read %d\n", read_one(argv[3]));
        maps("after chdir and aio_read");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "race") == 0) {
        pthread_t t[8];
        int ok = 0;
        race_path = argv[2];
        pthread_barrier_init(&barrier, NULL, 8);
        for (int i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, racer, NULL);
        for (int i = 0; i < 8; i++) {
            void *r;
            pthread_join(t[i], &r);
            ok += (long)r == 512;
        }
        printf("= race: %d of 8 first calls read 512 bytes\n", ok);
        return ok == 8 ? 0 : 1;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: stub_probe FILE | race FILE | none | chdir DIR FILE\n");
        return 2;
    }
    untouched("before");
    maps("before any submission");
    printf("= aio_read %d\n", read_one(argv[1]));
    maps("after one aio_read");
    untouched("after");
    return 0;
}
