/*
 * legacy_app.c - a program that uses POSIX AIO the way a 2005-era program
 * would: a ring of aiocbs kept full with aio_write, refilled as requests
 * complete (aio_suspend, aio_error, aio_return), an aio_fsync barrier, then
 * the whole file read back with aio_read and verified.
 *
 * It is the demo and smoke test of libaio_shim: run it once with glibc and
 * once under `aio-shim`, and the output must be the same. The output is
 * deterministic (no timings, no file names, no pids).
 *
 * Usage: legacy_app [--direct] [--keep] [--lio] [--block=KIB] [FILE [SIZE_MIB]]
 *   FILE      data file to create (default: $TMPDIR/legacy_app.PID.dat);
 *             truncated first, removed at the end unless --keep
 *   SIZE_MIB  file size in MiB (default 64); also --size=MIB
 *   --direct  open the file with O_DIRECT (buffers and offsets are aligned)
 *   --lio     submit the first batch of reads with one lio_listio(LIO_WAIT)
 *   --block=KIB  request size in KiB, a power of two from 4 to 1024 (default 64)
 *   --keep    leave the file in place
 *
 * Build: gcc -O2 -pthread -o legacy_app legacy_app.c -lrt
 * Exit status: 0 on success, 1 on an I/O or verification error, 2 on usage.
 */
#define _GNU_SOURCE 1
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static long BLOCK_SIZE = 64 * 1024; /* --block=KIB */
#define QUEUE_DEPTH  64
#define ALIGNMENT    4096

static const char *progname = "legacy_app";

struct slot {
	struct aiocb cb;
	unsigned char *buf;
	long block;          /* block number in flight, -1 if idle */
};

static struct slot slots[QUEUE_DEPTH];
static uint64_t *block_sum; /* hash of each block as read back */

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, strerror(errno));
	printf("FAILED\n");
	exit(1);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("FAILED\n");
	exit(1);
}

/* The content of block `block`: a xorshift stream seeded by the block number,
 * so that every block is different and a misplaced block is detected. */
static uint64_t seed(long block)
{
	return 0x9E3779B97F4A7C15ull ^ ((uint64_t)block * 0xBF58476D1CE4E5B9ull);
}

static uint64_t next_word(uint64_t x)
{
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static void fill_block(unsigned char *buf, long block)
{
	uint64_t x = seed(block);
	size_t i;

	for (i = 0; i < (size_t)BLOCK_SIZE; i += 8) {
		x = next_word(x);
		memcpy(buf + i, &x, 8);
	}
}

/* Checks a block read back against its expected content and hashes it
 * (FNV-1a over 64-bit words). Returns 0 and the hash, or -1 on a mismatch. */
static int verify_block(const unsigned char *buf, long block, uint64_t *hash)
{
	uint64_t x = seed(block), w, h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < (size_t)BLOCK_SIZE; i += 8) {
		x = next_word(x);
		memcpy(&w, buf + i, 8);
		if (w != x)
			return -1;
		h = (h ^ w) * 0x100000001b3ull;
	}
	*hash = h;
	return 0;
}

static void prepare(struct slot *s, int fd, long block, int opcode)
{
	memset(&s->cb, 0, sizeof(s->cb));
	s->cb.aio_fildes = fd;
	s->cb.aio_buf = s->buf;
	s->cb.aio_nbytes = BLOCK_SIZE;
	s->cb.aio_offset = (off_t)block * BLOCK_SIZE;
	s->cb.aio_lio_opcode = opcode;
	s->cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	s->block = block;
}

static void submit(struct slot *s, int fd, long block, int writing)
{
	prepare(s, fd, block, writing ? LIO_WRITE : LIO_READ);
	if (writing) {
		fill_block(s->buf, block);
		if (aio_write(&s->cb) != 0)
			die("aio_write");
	} else {
		if (aio_read(&s->cb) != 0)
			die("aio_read");
	}
}

/* Wait until at least one request in flight has finished. */
static void wait_some(void)
{
	const struct aiocb *list[QUEUE_DEPTH];
	int i, n = 0;

	for (i = 0; i < QUEUE_DEPTH; i++)
		if (slots[i].block >= 0)
			list[n++] = &slots[i].cb;
	while (aio_suspend(list, n, NULL) != 0) {
		if (errno != EINTR && errno != EAGAIN)
			die("aio_suspend");
	}
}

/* Collect finished request `s`; returns 1 if it was done, 0 if in progress. */
static int reap(struct slot *s, int writing, long *requests)
{
	int err = aio_error(&s->cb);
	ssize_t ret;

	if (err == EINPROGRESS)
		return 0;
	ret = aio_return(&s->cb);
	if (err != 0) {
		errno = err;
		die(writing ? "write request failed" : "read request failed");
	}
	if (ret != BLOCK_SIZE)
		fail("short transfer on block %ld: %ld bytes", s->block, (long)ret);
	if (!writing) {
		if (verify_block(s->buf, s->block, &block_sum[s->block]) != 0)
			fail("block %ld read back wrong", s->block);
	}
	(*requests)++;
	s->block = -1;
	return 1;
}

/* Keep QUEUE_DEPTH requests in flight until all `nblocks` are done. */
static long run_pass(int fd, long nblocks, int writing, int use_lio)
{
	long next = 0, done = 0, requests = 0;
	int i;

	for (i = 0; i < QUEUE_DEPTH; i++)
		slots[i].block = -1;

	if (use_lio && !writing) {
		struct aiocb *list[QUEUE_DEPTH] = { NULL };
		int n = 0;

		for (i = 0; i < QUEUE_DEPTH && next < nblocks; i++, next++) {
			prepare(&slots[i], fd, next, LIO_READ);
			list[n++] = &slots[i].cb;
		}
		if (lio_listio(LIO_WAIT, list, n, NULL) != 0 && errno != EIO)
			die("lio_listio");
		for (i = 0; i < n; i++) {
			if (aio_error(&slots[i].cb) == EINPROGRESS)
				fail("lio_listio(LIO_WAIT) returned with block %ld in progress",
				     slots[i].block);
			done += reap(&slots[i], writing, &requests);
		}
	}

	for (i = 0; i < QUEUE_DEPTH && next < nblocks; i++)
		if (slots[i].block < 0)
			submit(&slots[i], fd, next++, writing);

	while (done < nblocks) {
		wait_some();
		for (i = 0; i < QUEUE_DEPTH; i++) {
			if (slots[i].block < 0 || !reap(&slots[i], writing, &requests))
				continue;
			done++;
			if (next < nblocks)
				submit(&slots[i], fd, next++, writing);
		}
	}
	return requests;
}

static void do_fsync(int fd)
{
	struct aiocb cb;
	const struct aiocb *list[1];

	memset(&cb, 0, sizeof(cb));
	cb.aio_fildes = fd;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	if (aio_fsync(O_SYNC, &cb) != 0)
		die("aio_fsync");
	list[0] = &cb;
	while (aio_error(&cb) == EINPROGRESS) {
		if (aio_suspend(list, 1, NULL) != 0 && errno != EINTR && errno != EAGAIN)
			die("aio_suspend");
	}
	if (aio_return(&cb) != 0) {
		errno = aio_error(&cb);
		die("aio_fsync request failed");
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--direct] [--keep] [--lio] [--size=MIB] [--block=KIB] [FILE [SIZE_MIB]]\n",
		progname);
	exit(2);
}

static long parse_mib(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > 1024 * 1024)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "direct", no_argument, NULL, 'd' },
		{ "keep", no_argument, NULL, 'k' },
		{ "lio", no_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "block", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int direct = 0, keep = 0, use_lio = 0, c, fd, flags, i;
	long mib = 64, nblocks, written, readreq;
	char default_path[4096];
	const char *path = NULL;
	uint64_t sum;

	while ((c = getopt_long(argc, argv, "dkls:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': direct = 1; break;
		case 'k': keep = 1; break;
		case 'l': use_lio = 1; break;
		case 's': mib = parse_mib(optarg); break;
		case 'b':
			BLOCK_SIZE = parse_mib(optarg);
			if (BLOCK_SIZE < 4 || BLOCK_SIZE > 1024 || (BLOCK_SIZE & (BLOCK_SIZE - 1)))
				usage();
			BLOCK_SIZE *= 1024;
			break;
		default: usage();
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		mib = parse_mib(argv[optind++]);
	if (optind < argc)
		usage();
	if (path == NULL) {
		const char *tmp = getenv("TMPDIR");

		snprintf(default_path, sizeof(default_path), "%s/legacy_app.%ld.dat",
			 tmp && *tmp ? tmp : "/tmp", (long)getpid());
		path = default_path;
	}
	nblocks = mib * (1024 * 1024 / BLOCK_SIZE);

	block_sum = calloc((size_t)nblocks, sizeof(*block_sum));
	if (block_sum == NULL)
		die("calloc");
	for (i = 0; i < QUEUE_DEPTH; i++) {
		void *p;

		if (posix_memalign(&p, ALIGNMENT, BLOCK_SIZE) != 0)
			die("posix_memalign");
		slots[i].buf = p;
	}

	flags = O_RDWR | O_CREAT | O_TRUNC;
	if (direct)
		flags |= O_DIRECT;
	fd = open(path, flags, 0644);
	if (fd < 0) {
		if (direct && errno == EINVAL)
			fprintf(stderr, "%s: %s: O_DIRECT is not supported on this filesystem\n",
				progname, path);
		die(path);
	}

	written = run_pass(fd, nblocks, 1, 0);
	do_fsync(fd);
	readreq = run_pass(fd, nblocks, 0, use_lio);

	/* Fold the per-block hashes in file order. */
	sum = 0xcbf29ce484222325ull;
	for (i = 0; i < nblocks; i++)
		sum = (sum ^ block_sum[i]) * 0x100000001b3ull;

	if (close(fd) != 0)
		die("close");
	if (!keep && unlink(path) != 0)
		die("unlink");

	printf("mode: %s\n", direct ? "O_DIRECT" : "buffered");
	printf("file size: %ld bytes (%ld blocks of %ld bytes, %d requests in flight)\n",
	       nblocks * (long)BLOCK_SIZE, nblocks, BLOCK_SIZE, QUEUE_DEPTH);
	printf("written: %ld bytes in %ld aio_write requests\n", written * (long)BLOCK_SIZE, written);
	printf("aio_fsync: ok\n");
	printf("read: %ld bytes in %ld read requests, verified\n", readreq * (long)BLOCK_SIZE, readreq);
	printf("checksum: %016llx\n", (unsigned long long)sum);
	printf("OK\n");
	return 0;
}
