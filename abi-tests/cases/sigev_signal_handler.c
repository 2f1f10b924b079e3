/* SIGEV_SIGNAL delivered to an SA_SIGINFO handler: the handler sees the
 * siginfo fields and a request whose result is already stored. */
#include "common.h"

static atomic_int hits;
static volatile int h_signo, h_code, h_pid_ok, h_uid_ok, h_val, h_err, h_main;
static struct aiocb cb;
static pid_t main_tid;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    h_signo = sig;
    h_code = si->si_code;
    h_pid_ok = si->si_pid == getpid();
    h_uid_ok = si->si_uid == getuid();
    h_val = si->si_value.sival_int;
    h_err = aio_error(&cb);
    h_main = gettid() == main_tid;
    atomic_fetch_add(&hits, 1);
}

int main(void)
{
    main_tid = gettid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    CHECK(sigaction(SIGRTMIN + 3, &sa, NULL) == 0);

    int fd = make_file(4096);
    static char buf[100];
    int sigs[2] = { SIGUSR2, SIGRTMIN + 3 };
    for (int k = 0; k < 2; k++) {
        atomic_store(&hits, 0);
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb_signal(&cb, sigs[k], 31 + k);
        SHOW("aio_read(SIGEV_SIGNAL to handler)", aio_read(&cb));
        int ok = wait_flag(&hits, 1, LONG_MS);
        printf("handler ran = %d\n", ok);
        printf("  signo=%s code_is_SI_ASYNCIO=%d pid_ok=%d uid_ok=%d value=%d "
               "aio_error_in_handler=%s in_main_thread=%d\n",
               signame(h_signo), h_code == SI_ASYNCIO, h_pid_ok, h_uid_ok, h_val,
               en(h_err), h_main);
        show_cb("  read", &cb);
        sleep_ms(50);
        printf("  handler runs = %d\n", atomic_load(&hits));
    }
    close(fd);
    return 0;
}
