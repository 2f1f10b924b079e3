#!/usr/bin/env bash
# End-to-end checks of the aio-shim command (target/release/aio-shim):
#   - `aio-shim ab` exits 0 on a program that behaves the same (legacy_app),
#     1 on one that does not, 3 when nothing was proven (no AIO calls),
#     2 on its own error (a command that does not exist);
#   - `aio-shim --stats=FILE CMD` runs CMD under the shim (stats show calls).
# Prints PASS/FAIL per check and "N passed, N failed"; exits 1 on a failure.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
cli=$root/target/release/aio-shim
work=$root/target/cli-work
rm -rf "$work"; mkdir -p "$work"
pass=0; fail=0
check() { # name expected actual [details file]
    if [ "$2" = "$3" ]; then
        echo "PASS $1"; pass=$((pass+1))
    else
        echo "FAIL $1: expected $2, got $3"; fail=$((fail+1))
        [ -n "${4:-}" ] && sed 's/^/    /' "$4" | tail -20
    fi
}
[ -x "$cli" ] || { echo "FAIL: $cli missing (cargo build --release)"; echo "0 passed, 1 failed"; exit 1; }

gcc -O2 -pthread -o "$work/legacy_app" abi-tests/apps/legacy_app.c -lrt || exit 1
# A program that makes AIO calls and prints something that differs when
# preloaded: ab must notice.
cat > "$work/differs.c" <<'C'
#include <aio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
    static char buf[4];
    int p[2];
    if (pipe(p) || write(p[1], "abcd", 4) != 4)
        return 9;
    struct aiocb c;
    memset(&c, 0, sizeof c);
    c.aio_fildes = p[0];
    c.aio_buf = buf;
    c.aio_nbytes = 4;
    if (aio_read(&c))
        return 9;
    const struct aiocb *l[] = { &c };
    while (aio_error(&c) == EINPROGRESS)
        aio_suspend(l, 1, NULL);
    printf("read %zd\n", aio_return(&c));
    const char *pre = getenv("LD_PRELOAD");
    printf("%s\n", pre && strstr(pre, "libaio_shim") ? "preloaded" : "plain");
    return 0;
}
C
gcc -O2 -o "$work/differs" "$work/differs.c" -lrt || exit 1

"$cli" ab --runs 2 -q -- "$work/legacy_app" --block=16 "$work/la.dat" 8 > "$work/same.log" 2>&1
check "ab: same behaviour -> 0" 0 $? "$work/same.log"
grep -q "SAME" "$work/same.log"; check "ab: reports SAME" 0 $? "$work/same.log"

"$cli" ab --runs 1 -q -- "$work/differs" > "$work/differs.log" 2>&1
check "ab: different output -> 1" 1 $? "$work/differs.log"
grep -q "preloaded" "$work/differs.log"; check "ab: shows the first difference" 0 $? "$work/differs.log"

"$cli" ab --runs 1 -q -- /bin/true > "$work/noaio.log" 2>&1
check "ab: no AIO calls -> 3 (nothing proven)" 3 $? "$work/noaio.log"

"$cli" ab --runs 1 -q -- "$work/does-not-exist" > "$work/missing.log" 2>&1
check "ab: missing command -> 2" 2 $? "$work/missing.log"

"$cli" --stats="$work/run.stats" -- "$work/legacy_app" --lio "$work/lb.dat" 4 > "$work/run.log" 2>&1
check "aio-shim CMD: exit status of CMD" 0 $? "$work/run.log"
calls=$(grep -o '"calls":[0-9]*' "$work/run.stats" 2>/dev/null | head -1 | cut -d: -f2)
[ "${calls:-0}" -gt 0 ]; check "aio-shim CMD: served by the shim (calls=${calls:-none})" 0 $? "$work/run.stats"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && rm -rf "$work"
[ "$fail" -eq 0 ]
