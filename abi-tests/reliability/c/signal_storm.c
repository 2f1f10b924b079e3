/* A storm of signals at a thread waiting in aio_suspend or in
 * lio_listio(LIO_WAIT).
 *
 * usage: signal_storm restart|norestart suspend|lio
 *
 * A storm thread sends SIGUSR1 (handler installed with or without
 * SA_RESTART) to the waiting thread every ~20 us while it runs 30 rounds;
 * in each round the waiter waits for 4 reads on 4 empty pipes that a
 * feeder thread fills after 10-40 ms. aio_suspend / lio_listio return -1
 * EINTR when a handler interrupted them (POSIX; the waiter then waits with
 * aio_suspend until its requests are done); every request must end with its
 * data. The transcript says whether EINTR was seen (glibc: aio_suspend
 * returns EINTR with and without SA_RESTART; lio_listio only without).
 */
#include "../rel.h"

#define ROUNDS 30
#define NPIPE 4

static atomic_int handled, stop, round_no, fed_round;
static pthread_t waiter_thread;
static int pipes[NPIPE][2];

static void on_usr1(int s) { (void)s; atomic_fetch_add(&handled, 1); }

static void *storm(void *a)
{
    (void)a;
    long sent = 0;
    while (!atomic_load(&stop)) {
        pthread_kill(waiter_thread, SIGUSR1);
        sent++;
        sleep_us(20);
    }
    return (void *)sent;
}

static void *feeder(void *a)
{
    (void)a;
    int last = 0;
    while (!atomic_load(&stop)) {
        int r = atomic_load(&round_no);
        if (r == last) {
            sleep_us(200);
            continue;
        }
        sleep_ms(10 + (r * 7) % 30);
        for (int i = 0; i < NPIPE; i++) {
            char m[8];
            snprintf(m, sizeof m, "r%02dp%d", r % 100, i);
            CHECK(write(pipes[i][1], m, 5) == 5);
        }
        last = r;
        atomic_store(&fed_round, r);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage");
    int restart = strcmp(argv[1], "restart") == 0;
    int lio = strcmp(argv[2], "lio") == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = restart ? SA_RESTART : 0;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    for (int i = 0; i < NPIPE; i++)
        CHECK(pipe2(pipes[i], O_CLOEXEC) == 0);
    waiter_thread = pthread_self();
    pthread_t st, ft;
    CHECK(pthread_create(&ft, NULL, feeder, NULL) == 0);
    CHECK(pthread_create(&st, NULL, storm, NULL) == 0);

    int eintr = 0, other_ret = 0, bad_data = 0, rounds_ok = 0;
    static struct aiocb c[NPIPE];
    static char b[NPIPE][8];
    for (int r = 1; r <= ROUNDS; r++) {
        struct aiocb *l[NPIPE];
        for (int i = 0; i < NPIPE; i++) {
            cb_init(&c[i], pipes[i][0], b[i], 5, 0);
            c[i].aio_lio_opcode = LIO_READ;
            l[i] = &c[i];
        }
        if (!lio)
            for (int i = 0; i < NPIPE; i++)
                CHECK(aio_read(&c[i]) == 0);
        atomic_store(&round_no, r);
        if (lio) {
            errno = 0;
            int rc = lio_listio(LIO_WAIT, l, NPIPE, NULL);
            int e = errno;
            if (rc == -1 && e == EINTR)
                eintr++;
            else if (rc != 0) {
                other_ret++;
                BAD("round %d: lio_listio = %d %s", r, rc, en(e));
            }
        }
        /* wait for all four with aio_suspend (no timeout), bounded overall */
        long long end = now_ms() + LONG_MS;
        for (int i = 0; i < NPIPE; i++) {
            const struct aiocb *one[] = { &c[i] };
            while (aio_error(&c[i]) == EINPROGRESS && now_ms() < end) {
                errno = 0;
                int rc = aio_suspend(one, 1, NULL);
                int e = errno;
                if (rc == -1 && e == EINTR)
                    eintr++;
                else if (rc != 0) {
                    other_ret++;
                    BAD("round %d: aio_suspend = %d %s", r, rc, en(e));
                    sleep_ms(1);
                }
            }
        }
        int ok = 1;
        for (int i = 0; i < NPIPE; i++) {
            char m[8];
            snprintf(m, sizeof m, "r%02dp%d", r % 100, i);
            if (aio_error(&c[i]) != 0 || aio_return(&c[i]) != 5 || memcmp(b[i], m, 5) != 0) {
                ok = 0;
                bad_data++;
                BAD("round %d pipe %d: aio_error=%s aio_return=%zd", r, i, en(aio_error(&c[i])),
                    aio_return(&c[i]));
            }
        }
        rounds_ok += ok;
        /* wait until the feeder is done with this round */
        end = now_ms() + LONG_MS;
        while (atomic_load(&fed_round) != r && now_ms() < end)
            sleep_us(100);
    }
    atomic_store(&stop, 1);
    void *sent;
    pthread_join(st, &sent);
    pthread_join(ft, NULL);
    printf("%s %s: rounds with every request's data correct: %d/%d\n", argv[1], argv[2], rounds_ok, ROUNDS);
    printf("unexpected return values: %d\n", other_ret);
    printf("EINTR seen: %s\n", eintr ? "yes" : "no");
    fprintf(stderr, "signals sent=%ld handled=%d eintr=%d\n", (long)sent, atomic_load(&handled), eintr);
    if ((long)sent < 1000)
        printf("NOTE: fewer than 1000 signals sent\n");
    return rel_exit();
}
