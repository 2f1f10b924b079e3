// EXPECT-FILE
/* lio_listio(LIO_WAIT) interrupted by a signal handler (installed without
 * SA_RESTART) returns -1 EINTR; the requests stay in flight and complete
 * later.  The signal is re-sent every 20 ms until the call returns, so the
 * result does not depend on when the waiter went to sleep.
 * glibc 2.36 returns -1 EINTR but leaves its on-stack wait list linked to
 * the requests, so their completion later writes into a dead stack frame
 * (this program crashes with SIGSEGV under glibc).  Expected output, per
 * POSIX (requests not cancelled, they complete later): expected/NAME.out. */
#include "common.h"

static atomic_int stop, handled;
static pthread_t main_thread;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&handled, 1);
}

static void *kicker(void *arg)
{
    (void)arg;
    sleep_ms(50);
    long long end = now_ms() + LONG_MS;
    while (!atomic_load(&stop) && now_ms() < end) {
        pthread_kill(main_thread, SIGUSR1);
        sleep_ms(20);
    }
    return NULL;
}

int main(void)
{
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = 0; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    static char b1[4], b2[4];
    struct aiocb c1, c2;
    cb_init(&c1, p[0], b1, 4, 0);
    cb_init(&c2, p[0], b2, 4, 0);
    c1.aio_lio_opcode = LIO_READ;
    c2.aio_lio_opcode = LIO_READ;
    struct aiocb *list[] = { &c1, &c2 };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, kicker, NULL) == 0);
    SHOW("lio_listio(LIO_WAIT, reads on an empty pipe)", lio_listio(LIO_WAIT, list, 2, NULL));
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("handler ran = %d\n", atomic_load(&handled) > 0);
    printf("c1 after return: %s\n", en(aio_error(&c1)));
    printf("c2 after return: %s\n", en(aio_error(&c2)));
    CHECK(write(p[1], "11112222", 8) == 8);
    printf("remaining after wait = %d\n", wait_all(list, 2, LONG_MS));
    show_cb("c1", &c1);
    show_cb("c2", &c2);
    printf("data %.4s %.4s\n", b1, b2);
    return 0;
}
