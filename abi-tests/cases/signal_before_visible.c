/* glibc stores the result and sends the SIGEV_SIGNAL under one lock that
 * aio_error, aio_suspend and lio_listio(LIO_WAIT) also take: once any of
 * them reports a request done, its signal is already pending (and the list
 * signal of a LIO_NOWAIT batch once all its requests are seen done; and the
 * notification of a request cancelled by aio_cancel when aio_cancel
 * returns).  Checked with a zero-timeout sigtimedwait right after
 * completion is observed, 100 rounds for each way of observing it on a
 * regular file, 20 on a pipe. */
#include "common.h"

#define FILE_ROUNDS 100
#define PIPE_ROUNDS 20

static int SIG;
static int wfd;

static void *late_writer(void *arg)
{
    (void)arg;
    sleep_ms(20);
    CHECK(write(wfd, "abcd", 4) == 4);
    return NULL;
}

static int pending_now(void)
{
    return wait_signal(SIG, 0, NULL) == SIG;
}

int main(void)
{
    SIG = SIGRTMIN + 1;
    block_signal(SIG);
    int fd = make_file(65536);
    int p[2];
    CHECK(pipe(p) == 0);
    wfd = p[1];
    static char b[8][4];
    for (int kind = 0; kind < 2; kind++) {
        const char *what = kind ? "pipe" : "file";
        int rfd = kind ? p[0] : fd;
        int poll_ok = 0, susp_ok = 0, lio_ok = 0, list_ok = 0, cancel_ok = 0;
        int ROUNDS = kind ? PIPE_ROUNDS : FILE_ROUNDS;
        for (int r = 0; r < ROUNDS; r++) {
            struct aiocb c;
            /* 1: aio_error polling */
            cb_init(&c, rfd, b[0], 4, 0);
            cb_signal(&c, SIG, 1);
            if (kind)
                CHECK(write(wfd, "abcd", 4) == 4);
            CHECK(aio_read(&c) == 0);
            wait_done(&c, LONG_MS);
            poll_ok += pending_now();
            drain_signal(SIG, 0);
            /* 2: aio_suspend, completed while waiting (pipe) or not */
            cb_init(&c, rfd, b[0], 4, 0);
            cb_signal(&c, SIG, 2);
            CHECK(aio_read(&c) == 0);
            pthread_t t;
            if (kind)
                CHECK(pthread_create(&t, NULL, late_writer, NULL) == 0);
            const struct aiocb *l[] = { &c };
            struct timespec t10 = { 10, 0 };
            int rc;
            do
                rc = aio_suspend(l, 1, &t10);
            while (rc == -1 && errno == EINTR);
            susp_ok += rc == 0 && pending_now();
            if (kind)
                pthread_join(t, NULL);
            wait_done(&c, LONG_MS);
            drain_signal(SIG, 0);
            /* 3: lio_listio(LIO_WAIT) with 4 requests */
            struct aiocb m[4];
            struct aiocb *ml[4];
            for (int i = 0; i < 4; i++) {
                cb_init(&m[i], rfd, b[i], 4, i * 4);
                m[i].aio_lio_opcode = LIO_READ;
                cb_signal(&m[i], SIG, 10 + i);
                ml[i] = &m[i];
            }
            if (kind)
                CHECK(write(wfd, "1111222233334444", 16) == 16);
            rc = lio_listio(LIO_WAIT, ml, 4, NULL);
            int n = 0;
            while (pending_now())
                n++;
            lio_ok += rc == 0 && n == 4;
            drain_signal(SIG, 0);
            /* 4: LIO_NOWAIT, list signal only, all seen done by aio_error */
            for (int i = 0; i < 4; i++)
                m[i].aio_sigevent.sigev_notify = SIGEV_NONE;
            struct sigevent sev;
            memset(&sev, 0, sizeof sev);
            sev.sigev_notify = SIGEV_SIGNAL;
            sev.sigev_signo = SIG;
            sev.sigev_value.sival_int = 99;
            if (kind)
                CHECK(write(wfd, "1111222233334444", 16) == 16);
            rc = lio_listio(LIO_NOWAIT, ml, 4, &sev);
            int left = wait_array(m, 4, LONG_MS);
            list_ok += rc == 0 && left == 0 && pending_now();
            drain_signal(SIG, 0);
            /* 5: a queued request cancelled (pipe: one read blocks first) */
            if (kind) {
                struct aiocb first, q;
                static char fb[4], qb[4];
                cb_init(&first, rfd, fb, 4, 0);
                CHECK(aio_read(&first) == 0);
                if (r == 0)
                    sleep_ms(50);
                cb_init(&q, rfd, qb, 4, 0);
                cb_signal(&q, SIG, 5);
                CHECK(aio_read(&q) == 0);
                int cr = aio_cancel(rfd, &q);
                cancel_ok += cr == AIO_CANCELED && pending_now();
                CHECK(write(wfd, "zzzz", 4) == 4);
                wait_done(&first, LONG_MS);
                wait_done(&q, LONG_MS);
                drain_signal(SIG, 0);
            }
        }
        printf("%s: signal pending when seen done: aio_error %d/%d, aio_suspend %d/%d, "
               "LIO_WAIT %d/%d, LIO_NOWAIT list signal %d/%d",
               what, poll_ok, ROUNDS, susp_ok, ROUNDS, lio_ok, ROUNDS, list_ok, ROUNDS);
        if (kind)
            printf(", aio_cancel %d/%d", cancel_ok, ROUNDS);
        printf("\n");
    }
    return 0;
}
