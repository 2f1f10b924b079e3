/* Requests on a stream socket (socketpair) complete in submission order;
 * on a datagram socketpair each read gets one datagram, in order. */
#include "common.h"

#define N 8

int main(void)
{
    int s[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
    static char b[N][5];
    struct aiocb c[N];
    for (int i = 0; i < N; i++) {
        cb_init(&c[i], s[0], b[i], 4, 12345); /* offset ignored */
        CHECK(aio_read(&c[i]) == 0);
    }
    char data[N * 4];
    for (int i = 0; i < N; i++)
        memset(data + 4 * i, 'a' + i, 4);
    CHECK(write(s[1], data, sizeof data) == sizeof data);
    printf("stream reads remaining = %d\n", wait_array(c, N, LONG_MS));
    for (int i = 0; i < N; i++)
        printf(" %s/%zd/%s", en(aio_error(&c[i])), aio_return(&c[i]), b[i]);
    printf("\n");
    /* writes */
    static char wb[N][4];
    for (int i = 0; i < N; i++) {
        memset(wb[i], 'A' + i, 4);
        cb_init(&c[i], s[1], wb[i], 4, 0);
        CHECK(aio_write(&c[i]) == 0);
    }
    printf("stream writes remaining = %d\n", wait_array(c, N, LONG_MS));
    char got[N * 4 + 1] = { 0 };
    size_t have = 0;
    while (have < N * 4) {
        ssize_t r = read(s[0], got + have, N * 4 - have);
        CHECK(r > 0);
        have += (size_t)r;
    }
    printf("stream content = %s\n", got);

    int d[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, d) == 0);
    static char db[N][16];
    for (int i = 0; i < N; i++) {
        memset(db[i], 0, 16);
        cb_init(&c[i], d[0], db[i], 15, 0);
        CHECK(aio_read(&c[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        char m[16];
        int len = snprintf(m, sizeof m, "dgram-%d%s", i, i % 2 ? "-odd" : "");
        CHECK(send(d[1], m, (size_t)len, 0) == len);
    }
    printf("dgram reads remaining = %d\n", wait_array(c, N, LONG_MS));
    for (int i = 0; i < N; i++)
        printf(" %zd/%s", aio_return(&c[i]), db[i]);
    printf("\n");
    return 0;
}
