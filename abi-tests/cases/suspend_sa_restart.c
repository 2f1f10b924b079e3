/* aio_suspend and handlers installed WITH SA_RESTART (as signal() does):
 * with a timeout the call still fails with EINTR; without a timeout glibc's
 * wait is restarted transparently, so the call returns 0 once the request
 * completes. */
#include "common.h"

static atomic_int handled;
static pthread_t main_thread;
static int wfd;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&handled, 1);
}

static void *kick_then_write(void *arg)
{
    int write_after = (int)(intptr_t)arg;
    sleep_ms(30);
    for (int i = 0; i < 10; i++) {
        pthread_kill(main_thread, SIGUSR1);
        sleep_ms(20);
    }
    if (write_after)
        CHECK(write(wfd, "done", 4) == 4);
    return NULL;
}

int main(void)
{
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    wfd = p[1];
    static char b[4];
    struct aiocb c;
    cb_init(&c, p[0], b, 4, 0);
    CHECK(aio_read(&c) == 0);
    const struct aiocb *l[] = { &c };
    struct timespec t10 = { 10, 0 };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, kick_then_write, (void *)0) == 0);
    SHOW("aio_suspend(pending, 10 s), SA_RESTART handler", aio_suspend(l, 1, &t10));
    pthread_join(t, NULL);
    printf("  still in progress = %d\n", aio_error(&c) == EINPROGRESS);
    CHECK(pthread_create(&t, NULL, kick_then_write, (void *)1) == 0);
    SHOW("aio_suspend(pending, NULL), SA_RESTART handler, data after 10 signals",
         aio_suspend(l, 1, NULL));
    pthread_join(t, NULL);
    printf("  handler ran = %d\n", atomic_load(&handled) >= 10);
    printf("  wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    return 0;
}
