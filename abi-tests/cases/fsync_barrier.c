/* aio_fsync is queued after the earlier requests on its fd: when it is
 * done, every write submitted before it is done too. */
#include "common.h"

#define N 64

int main(void)
{
    int fd = make_file(0);
    static char b[N][8192];
    static struct aiocb w[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            fill_pat(b[i], 8192, (off_t)i * 8192);
            cb_init(&w[i], fd, b[i], 8192, (off_t)i * 8192);
            CHECK(aio_write(&w[i]) == 0);
        }
        struct aiocb s;
        cb_init(&s, fd, NULL, 0, 0);
        SHOW("aio_fsync(O_SYNC)", aio_fsync(round == 1 ? O_DSYNC : O_SYNC, &s));
        printf("round %d fsync: %s\n", round, en(wait_done(&s, LONG_MS)));
        int pending = 0;
        for (int i = 0; i < N; i++)
            if (aio_error(&w[i]) == EINPROGRESS)
                pending++;
        printf("round %d writes still in progress when fsync done: %d\n", round, pending);
        printf("round %d remaining after wait: %d\n", round, wait_array(w, N, LONG_MS));
        int ok = 1;
        for (int i = 0; i < N; i++)
            if (aio_error(&w[i]) != 0 || aio_return(&w[i]) != 8192)
                ok = 0;
        printf("round %d writes ok: %d\n", round, ok);
        show_cb("fsync", &s);
    }
    printf("file size = %lld\n", (long long)file_size(fd));
    close(fd);
    return 0;
}
