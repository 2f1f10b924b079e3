/* Failures of O_DIRECT requests come back through aio_error like any other
 * (and are notified): NULL and PROT_NONE buffers (EFAULT), negative offset
 * (EINVAL), wrong access mode (EBADF); lio_listio LIO_WAIT with a failing
 * O_DIRECT entry -> -1 EIO. */
#include "common.h"

static void one(const char *label, int fd, int write, void *buf, size_t n, off_t off, int sig)
{
    struct aiocb c;
    cb_init(&c, fd, buf, n, off);
    cb_signal(&c, sig, 5);
    SHOW(label, write ? aio_write(&c) : aio_read(&c));
    int w = wait_done(&c, LONG_MS);
    printf("  wait=%s", en(w));
    printf(" return=%zd", aio_return(&c));
    siginfo_t si;
    int got = wait_signal(sig, LONG_MS, &si);
    printf(" notified=%d\n", got == sig && si.si_value.sival_int == 5);
}

int main(void)
{
    int SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_direct_file(1 << 16);
    void *none = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(none != MAP_FAILED);
    char *b = aligned_buf(8192);
    one("aio_read(O_DIRECT, NULL buffer)", fd, 0, NULL, 4096, 0, SIG);
    one("aio_write(O_DIRECT, NULL buffer)", fd, 1, NULL, 4096, 0, SIG);
    one("aio_read(O_DIRECT, PROT_NONE buffer)", fd, 0, none, 4096, 0, SIG);
    one("aio_write(O_DIRECT, PROT_NONE buffer)", fd, 1, none, 4096, 0, SIG);
    one("aio_read(O_DIRECT, offset -4096)", fd, 0, b, 4096, -4096, SIG);
    one("aio_write(O_DIRECT, offset -4096)", fd, 1, b, 4096, -4096, SIG);
    int ro = make_file_flags(1 << 16, O_RDONLY | O_DIRECT);
    int wo = make_file_flags(1 << 16, O_WRONLY | O_DIRECT);
    CHECK(ro >= 0 && wo >= 0);
    one("aio_write(O_RDONLY|O_DIRECT)", ro, 1, b, 4096, 0, SIG);
    one("aio_read(O_WRONLY|O_DIRECT)", wo, 0, b, 4096, 0, SIG);
    one("aio_read(O_RDONLY|O_DIRECT, fine)", ro, 0, b, 4096, 4096, SIG);
    printf("  data ok = %d\n", check_pat(b, 4096, 4096));
    one("aio_write(O_DIRECT, misaligned buffer)", fd, 1, b + 512 + 1, 4096, 0, SIG);

    struct aiocb c[4];
    struct aiocb *l[4];
    char *bb[4];
    for (int i = 0; i < 4; i++) {
        bb[i] = aligned_buf(4096);
        cb_init(&c[i], fd, bb[i], 4096, (off_t)i * 4096);
        c[i].aio_lio_opcode = LIO_READ;
        l[i] = &c[i];
    }
    c[2].aio_buf = bb[2] + 1;
    SHOW("lio_listio(LIO_WAIT, O_DIRECT, one misaligned)", lio_listio(LIO_WAIT, l, 4, NULL));
    for (int i = 0; i < 4; i++) {
        char lab[8];
        snprintf(lab, sizeof lab, "c%d", i);
        show_cb(lab, &c[i]);
    }
    c[2].aio_buf = bb[2];
    c[1].aio_offset = -4096;
    SHOW("lio_listio(LIO_WAIT, O_DIRECT, one negative offset)", lio_listio(LIO_WAIT, l, 4, NULL));
    for (int i = 0; i < 4; i++) {
        char lab[8];
        snprintf(lab, sizeof lab, "c%d", i);
        show_cb(lab, &c[i]);
    }
    printf("file size = %lld\n", (long long)file_size(fd));
    printf("extra signals = %d\n", drain_signal(SIG, 50));
    close(fd);
    return 0;
}
