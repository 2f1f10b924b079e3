/* A tiny FUSE filesystem that fails chosen I/O with EIO (libfuse3).
 *
 * usage: fusefs MOUNTPOINT   (stays in the foreground, single-threaded;
 *                             unmount with fusermount3 -u)
 *
 * Files, 1 MiB each, initially pat(offset) (the pattern of rel.h):
 *   data     reads overlapping [256 KiB, 260 KiB) fail with EIO, writes
 *            overlapping [512 KiB, 516 KiB) fail with EIO, the rest works
 *            (writes are kept in memory);
 *   direct   the same, opened with FUSE direct_io (no page cache);
 *   badsync  reads and writes work, fsync fails with EIO;
 *   slow     starts empty; every write takes SLOW_MS and appends nothing
 *            but the file's size (its bytes read as zeros). The daemon is
 *            single-threaded: anything else waits for the write too.
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define FSIZE (1 << 20)
#define BADR_LO (256 << 10)
#define BADR_HI (260 << 10)
#define BADW_LO (512 << 10)
#define BADW_HI (516 << 10)
#define SLOW_MS 1000
#define NFILES 4
#define SLOW 3

static unsigned char *content[3];
static const char *names[NFILES] = { "data", "direct", "badsync", "slow" };
static off_t slow_size;

static unsigned char pat(off_t off)
{
    uint64_t x = (uint64_t)off;
    return (unsigned char)((x * 131u) ^ (x >> 8) ^ (x >> 16) ^ 0x5a);
}

static int which(const char *path)
{
    for (int i = 0; i < NFILES; i++)
        if (path[0] == '/' && strcmp(path + 1, names[i]) == 0)
            return i;
    return -1;
}

static int overlaps(off_t off, size_t n, off_t lo, off_t hi) { return off < hi && off + (off_t)n > lo; }

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    (void)fi;
    memset(st, 0, sizeof *st);
    if (strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    int w = which(path);
    if (w < 0)
        return -ENOENT;
    st->st_mode = S_IFREG | 0666;
    st->st_nlink = 1;
    st->st_size = w == SLOW ? slow_size : FSIZE;
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags fl)
{
    (void)off, (void)fi, (void)fl;
    if (strcmp(path, "/") != 0)
        return -ENOENT;
    fill(buf, ".", NULL, 0, 0);
    fill(buf, "..", NULL, 0, 0);
    for (int i = 0; i < NFILES; i++)
        fill(buf, names[i], NULL, 0, 0);
    return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    int w = which(path);
    if (w < 0)
        return -ENOENT;
    if (w == 1)
        fi->direct_io = 1;
    return 0;
}

static int fs_read(const char *path, char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    int w = which(path);
    if (w < 0)
        return -ENOENT;
    if (w == SLOW) {
        size_t m = off >= slow_size ? 0 : (size_t)(slow_size - off) < n ? (size_t)(slow_size - off) : n;
        memset(buf, 0, m);
        return (int)m;
    }
    if (w != 2 && overlaps(off, n, BADR_LO, BADR_HI))
        return -EIO;
    if (off >= FSIZE)
        return 0;
    if (off + (off_t)n > FSIZE)
        n = (size_t)(FSIZE - off);
    memcpy(buf, content[w] + off, n);
    return (int)n;
}

static int fs_write(const char *path, const char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    int w = which(path);
    if (w < 0)
        return -ENOENT;
    if (w == SLOW) {
        struct timespec t = { SLOW_MS / 1000, (SLOW_MS % 1000) * 1000000L };
        while (nanosleep(&t, &t) != 0)
            ;
        if (off + (off_t)n > slow_size)
            slow_size = off + (off_t)n;
        return (int)n;
    }
    if (w != 2 && overlaps(off, n, BADW_LO, BADW_HI))
        return -EIO;
    if (off >= FSIZE)
        return -EFBIG;
    if (off + (off_t)n > FSIZE)
        n = (size_t)(FSIZE - off);
    memcpy(content[w] + off, buf, n);
    return (int)n;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)datasync, (void)fi;
    return which(path) == 2 ? -EIO : 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    (void)fi, (void)size;
    return which(path) < 0 ? -ENOENT : 0;
}

static const struct fuse_operations ops = {
    .getattr = fs_getattr,
    .readdir = fs_readdir,
    .open = fs_open,
    .read = fs_read,
    .write = fs_write,
    .fsync = fs_fsync,
    .truncate = fs_truncate,
};

int main(int argc, char **argv)
{
    for (int i = 0; i < 3; i++) {
        content[i] = malloc(FSIZE);
        for (off_t o = 0; o < FSIZE; o++)
            content[i][o] = pat(o);
    }
    return fuse_main(argc, argv, &ops, NULL);
}
