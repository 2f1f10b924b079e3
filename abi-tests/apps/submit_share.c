/*
 * submit_share.c - does aio_read return at once, or does it do the I/O in
 * the caller's thread?  Reads FILE (buffered, page cache dropped first with
 * posix_fadvise(DONTNEED)) with BLOCK-byte aio_reads, DEPTH in flight, and
 * reports the share of the wall time spent inside aio_read.  Then submits
 * one aio_read on an empty pipe and reports how long that call took.
 *
 * Blocks are read in a random order (a fixed seed), COUNT of them, so that
 * readahead cannot make the cold cache warm.
 *
 * Usage: submit_share FILE [BLOCK_KIB [DEPTH [COUNT]]]   (defaults 4, 32, 20000)
 * Output (stdout): "share PERCENT", "requests N", "pipe_submit_us US",
 *                  "pipe_inprogress 0|1".  Exit 0, or 1 on an I/O error.
 */
#define _GNU_SOURCE 1
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [BLOCK_KIB [DEPTH]]\n", argv[0]);
        return 2;
    }
    size_t block = (argc > 2 ? atol(argv[2]) : 4) * 1024;
    int depth = argc > 3 ? atoi(argv[3]) : 32;
    long count = argc > 4 ? atol(argv[4]) : 20000;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || block == 0 || depth <= 0 || depth > 1024) {
        perror(argv[1]);
        return 1;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    long fblocks = st.st_size / block, next = 0, done = 0;
    long nblocks = count < fblocks ? count : fblocks;
    long *order = malloc(fblocks * sizeof *order);
    for (long i = 0; i < fblocks; i++)
        order[i] = i;
    unsigned long long x = 88172645463325252ull;
    for (long i = fblocks - 1; i > 0; i--) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        long j = (long)(x % (unsigned long long)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    struct aiocb *cb = calloc(depth, sizeof *cb);
    const struct aiocb **list = calloc(depth, sizeof *list);
    char *bufs = malloc(block * depth);
    double in_submit = 0, t0 = now();
    for (int i = 0; i < depth && next < nblocks; i++, next++) {
        cb[i].aio_fildes = fd;
        cb[i].aio_buf = bufs + i * block;
        cb[i].aio_nbytes = block;
        cb[i].aio_offset = order[next] * block;
        double s = now();
        if (aio_read(&cb[i])) { perror("aio_read"); return 1; }
        in_submit += now() - s;
        list[i] = &cb[i];
    }
    while (done < nblocks) {
        if (aio_suspend(list, depth, NULL) && errno != EINTR) { perror("aio_suspend"); return 1; }
        for (int i = 0; i < depth; i++) {
            if (!list[i] || aio_error(&cb[i]) == EINPROGRESS)
                continue;
            if (aio_return(&cb[i]) != (ssize_t)block) { fprintf(stderr, "short read\n"); return 1; }
            done++;
            list[i] = NULL;
            if (next < nblocks) {
                cb[i].aio_offset = order[next++] * block;
                double s = now();
                if (aio_read(&cb[i])) { perror("aio_read"); return 1; }
                in_submit += now() - s;
                list[i] = &cb[i];
            }
        }
    }
    double total = now() - t0;
    printf("share %.1f\n", 100.0 * in_submit / total);
    printf("requests %ld\n", done);

    int p[2];
    if (pipe(p)) return 1;
    struct aiocb pc;
    memset(&pc, 0, sizeof pc);
    char c[16];
    pc.aio_fildes = p[0];
    pc.aio_buf = c;
    pc.aio_nbytes = sizeof c;
    double s = now();
    if (aio_read(&pc)) { perror("aio_read pipe"); return 1; }
    printf("pipe_submit_us %.0f\n", (now() - s) * 1e6);
    printf("pipe_inprogress %d\n", aio_error(&pc) == EINPROGRESS);
    if (write(p[1], "x", 1) != 1) return 1;
    const struct aiocb *pl[] = { &pc };
    while (aio_error(&pc) == EINPROGRESS)
        aio_suspend(pl, 1, NULL);
    return aio_return(&pc) == 1 ? 0 : 1;
}
