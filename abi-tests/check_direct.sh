#!/usr/bin/env bash
# AIO_SHIM_DIRECT=1 (O_DIRECT twins for buffered files): record locks and
# the program's fd table survive, fd reuse is noticed. Runs
# abi-tests/apps/direct_locks.c under glibc and under the shim with
# AIO_SHIM_DIRECT=1: same transcript, every line "ok=1", and the shim's
# stats show the twins served the reads. (The whole A/B suite also runs
# with AIO_SHIM_DIRECT=1 from scripts/test.)
# usage: abi-tests/check_direct.sh [--shim PATH]
set -u
cd "$(dirname "$0")/.."
shim=$PWD/target/release/libaio_shim.so
[ "${1:-}" = --shim ] && shim=$(realpath "$2")
work=$PWD/target/direct-work
rm -rf "$work"; mkdir -p "$work/g" "$work/s"
gcc -O2 -o "$work/direct_locks" abi-tests/apps/direct_locks.c -lrt || exit 1
pass=0; fail=0
check() { if [ "$2" = 0 ]; then echo "PASS $1"; pass=$((pass+1)); else echo "FAIL $1"; fail=$((fail+1)); fi; }
timeout 60 "$work/direct_locks" "$work/g" > "$work/glibc.out" 2>&1
check "glibc run" $?
timeout 60 env AIO_SHIM_DIRECT=1 AIO_SHIM_STATS="$work/stats" LD_PRELOAD="$shim" \
    "$work/direct_locks" "$work/s" > "$work/shim.out" 2>&1
check "shim run (AIO_SHIM_DIRECT=1)" $?
diff -u "$work/glibc.out" "$work/shim.out" > "$work/diff"
check "same transcript as glibc" $?
[ -s "$work/shim.out" ] && ! grep -q "ok=0" "$work/shim.out"
check "every check ok=1: $(tr '\n' ';' < "$work/shim.out")" $?
twin=$(grep -o '"twin":[0-9]*' "$work/stats" 2>/dev/null | cut -d: -f2)
[ "${twin:-0}" -gt 0 ]
check "the O_DIRECT twins served the reads (twin=${twin:-none})" $?
[ $fail -eq 0 ] || { cat "$work/diff"; cat "$work/stats" 2>/dev/null; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
