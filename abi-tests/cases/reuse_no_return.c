/* stress-ng style: one aiocb per slot reused for many requests without ever
 * calling aio_return; SIGEV_SIGNAL with sival_ptr to the aiocb and a
 * handler counting completions (a realtime signal, so that no completion
 * signal is merged with another). */
#include "common.h"

#define SLOTS 4
#define ROUNDS 200

static atomic_int count[SLOTS];
static struct aiocb cbs[SLOTS];

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    struct aiocb *p = si->si_value.sival_ptr;
    if (p >= cbs && p < cbs + SLOTS)
        atomic_fetch_add(&count[p - cbs], 1);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGRTMIN + 5, &sa, NULL) == 0);
    int fd = make_file(SLOTS * 16);
    static char buf[SLOTS][16];
    int bad = 0, late = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int s = 0; s < SLOTS; s++) {
            /* reuse: only the user fields are rewritten, as stress-ng does */
            cbs[s].aio_fildes = fd;
            cbs[s].aio_buf = buf[s];
            cbs[s].aio_nbytes = 16;
            cbs[s].aio_offset = s * 16;
            cbs[s].aio_reqprio = 0;
            cbs[s].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
            cbs[s].aio_sigevent.sigev_signo = SIGRTMIN + 5; /* queued: no merging */
            cbs[s].aio_sigevent.sigev_value.sival_ptr = &cbs[s];
            if (r % 2) {
                memset(buf[s], 'a' + (r + s) % 26, 16);
                if (aio_write(&cbs[s]) != 0)
                    bad++;
            } else if (aio_read(&cbs[s]) != 0)
                bad++;
        }
        for (int s = 0; s < SLOTS; s++) {
            if (wait_done(&cbs[s], LONG_MS) != 0)
                bad++;
            if (!wait_flag(&count[s], r + 1, LONG_MS))
                late++;
        }
    }
    printf("rounds = %d, failed submits or results = %d, missing signals = %d\n", ROUNDS, bad, late);
    for (int s = 0; s < SLOTS; s++)
        printf("slot %d: signals = %d\n", s, atomic_load(&count[s]));
    char back[SLOTS * 16];
    CHECK(pread(fd, back, sizeof back, 0) == sizeof back);
    int ok = 1;
    for (int s = 0; s < SLOTS; s++)
        for (int i = 0; i < 16; i++)
            ok &= back[s * 16 + i] == 'a' + (ROUNDS - 1 + s) % 26;
    printf("final content ok = %d\n", ok);
    printf("last aio_return per slot:");
    for (int s = 0; s < SLOTS; s++)
        printf(" %zd", aio_return(&cbs[s]));
    printf("\n");
    close(fd);
    return 0;
}
