/* aio_reqprio outside 0..AIO_PRIO_DELTA_MAX (20) fails synchronously with
 * -1 EINVAL, and glibc stores EINVAL/-1 in the aiocb.  0 and 20 are valid.
 * aio_fsync ignores (and zeroes) the priority. */
#include "common.h"

int main(void)
{
    int fd = make_file(4096);
    static char buf[16];
    struct aiocb cb;
    int prios[] = { -1, 21, 1000, INT32_MIN, 0, 20, 1 };
    for (int i = 0; i < 7; i++) {
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_reqprio = prios[i];
        char l[64];
        snprintf(l, sizeof l, "aio_read(reqprio %d)", prios[i]);
        SHOW(l, aio_read(&cb));
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  read", &cb);
        cb_init(&cb, fd, buf, sizeof buf, 0);
        cb.aio_reqprio = prios[i];
        snprintf(l, sizeof l, "aio_write(reqprio %d)", prios[i]);
        SHOW(l, aio_write(&cb));
        printf("  wait=%s\n", en(wait_done(&cb, LONG_MS)));
        show_cb("  write", &cb);
        cb_init(&cb, fd, NULL, 0, 0);
        cb.aio_reqprio = prios[i];
        snprintf(l, sizeof l, "aio_fsync(reqprio %d)", prios[i]);
        SHOW(l, aio_fsync(O_SYNC, &cb));
        printf("  wait=%s reqprio after=%d\n", en(wait_done(&cb, LONG_MS)), cb.aio_reqprio);
        show_cb("  fsync", &cb);
    }
    close(fd);
    return 0;
}
