/* Requests spread over 32 files and 8 pipes at once all complete, each with
 * its own data. */
#include "common.h"

#define NF 32
#define NP 8

int main(void)
{
    int fds[NF];
    static char fb[NF][4][1024];
    static struct aiocb fc[NF][4];
    for (int i = 0; i < NF; i++) {
        fds[i] = make_file(16384);
        for (int k = 0; k < 4; k++) {
            cb_init(&fc[i][k], fds[i], fb[i][k], 1024, (off_t)k * 4096 + i);
            CHECK(aio_read(&fc[i][k]) == 0);
        }
    }
    int p[NP][2];
    static char pb[NP][8];
    static struct aiocb pc[NP];
    for (int i = 0; i < NP; i++) {
        CHECK(pipe(p[i]) == 0);
        cb_init(&pc[i], p[i][0], pb[i], 7, 0);
        CHECK(aio_read(&pc[i]) == 0);
    }
    for (int i = NP - 1; i >= 0; i--) {
        char m[8];
        snprintf(m, sizeof m, "pipe-%02d", i);
        CHECK(write(p[i][1], m, 7) == 7);
    }
    int left = 0, ok = 1;
    for (int i = 0; i < NF; i++) {
        left += wait_array(fc[i], 4, LONG_MS);
        for (int k = 0; k < 4; k++)
            ok &= aio_return(&fc[i][k]) == 1024 &&
                  check_pat(fb[i][k], 1024, (off_t)k * 4096 + i);
    }
    printf("file requests remaining = %d, ok = %d\n", left, ok);
    printf("pipe requests remaining = %d\n", wait_array(pc, NP, LONG_MS));
    for (int i = 0; i < NP; i++)
        printf(" %.7s", pb[i]);
    printf("\n");
    return 0;
}
