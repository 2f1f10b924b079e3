/* aio_suspend is a thread cancellation point: a thread blocked in it is
 * cancelled by pthread_cancel (deferred cancellation) and its cleanup
 * handler runs; the request itself is unaffected. */
#include "common.h"

static struct aiocb c;
static atomic_int entered, cleaned;

static void cleanup(void *arg)
{
    (void)arg;
    atomic_store(&cleaned, 1);
}

static void *sleeper(void *arg)
{
    const struct timespec *ts = arg;
    const struct aiocb *l[] = { &c };
    pthread_cleanup_push(cleanup, NULL);
    atomic_store(&entered, 1);
    aio_suspend(l, 1, ts);
    pthread_cleanup_pop(0);
    return (void *)1;
}

int main(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    static char b[4];
    cb_init(&c, p[0], b, 4, 0);
    CHECK(aio_read(&c) == 0);
    struct timespec t20 = { 20, 0 };
    for (int k = 0; k < 2; k++) {
        atomic_store(&entered, 0);
        atomic_store(&cleaned, 0);
        pthread_t t;
        CHECK(pthread_create(&t, NULL, sleeper, k ? &t20 : NULL) == 0);
        wait_flag(&entered, 1, LONG_MS);
        sleep_ms(100);
        printf("pthread_cancel(thread in aio_suspend(%s)) = %d\n", k ? "20 s" : "NULL",
               pthread_cancel(t));
        void *ret = NULL;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 10;
        int j = pthread_timedjoin_np(t, &ret, &ts);
        printf("  joined = %d cancelled = %d cleanup ran = %d\n", j == 0,
               j == 0 && ret == PTHREAD_CANCELED, atomic_load(&cleaned));
        if (j != 0) {
            printf("  thread did not end; stopping\n");
            return 0;
        }
    }
    printf("request still in progress = %d\n", aio_error(&c) == EINPROGRESS);
    CHECK(write(p[1], "done", 4) == 4);
    printf("wait=%s\n", en(wait_done(&c, LONG_MS)));
    show_cb("c", &c);
    return 0;
}
