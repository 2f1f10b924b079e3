#!/usr/bin/env bash
# The preloaded stub (shim/stub.rs) and its engine (libaio_shim_engine.so):
#   - a process that makes no AIO call maps the stub only: no engine, no
#     thread;
#   - aio_error, aio_return and aio_suspend before the first submission are
#     answered by the stub (the engine stays unmapped) exactly as glibc does,
#     and the first aio_read loads the engine, which serves it (stats);
#   - 8 threads making their first AIO call at once: all served, one engine;
#   - LD_PRELOAD naming the stub relatively, and the program changing
#     directory before its first AIO call: the engine is still found;
#   - the engine missing (AIO_SHIM_ENGINE=/nonexistent): the program runs on
#     glibc's POSIX AIO, same output, silently, and with AIO_SHIM_LOG=warn
#     one "aio_shim: cannot use the engine" line says why.
#   - the stub's shape, which every preloaded process pays for at exec:
#     libc.so.6 its only dependency, two LOAD segments (shim/build.rs).
# Runs abi-tests/apps/stub_probe.c.
# usage: abi-tests/check_stub.sh [--shim PATH]
set -u
cd "$(dirname "$0")/.."
shim=$PWD/target/release/libaio_shim.so
[ "${1:-}" = --shim ] && shim=$(realpath "$2")
work=$PWD/target/stub-work
rm -rf "$work"; mkdir -p "$work"
gcc -O2 -pthread -o "$work/probe" abi-tests/apps/stub_probe.c -lrt || exit 1
head -c 4096 /dev/urandom > "$work/data"
pass=0; fail=0
check() { # name expected actual [file to show on failure]
    if [ "$2" = "$3" ]; then echo "PASS $1"; pass=$((pass+1)); else
        echo "FAIL $1"; echo "  want: $2"; echo "  got:  $3"; fail=$((fail+1))
        [ -n "${4:-}" ] && [ -f "$4" ] && sed 's/^/  | /' "$4"
    fi
}
stat_of() { grep -o "\"$1\":[0-9]*" "$2" 2>/dev/null | awk -F: '{ n += $2 } END { if (NR) print n }'; }
run() { # name env... -- args...
    local name=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    timeout 60 env "${envs[@]}" "$work/probe" "$@" > "$work/$name.out" 2> "$work/$name.err"
    echo $? > "$work/$name.rc"
}

# 0. what the loader maps
check "the stub needs libc.so.6 only" "[libc.so.6]" \
    "$(readelf -d "$shim" | awk '/NEEDED/ { print $NF }' | tr '\n' ' ' | sed 's/ $//')"
check "the stub has two LOAD segments (two mmaps at exec, no RELRO mprotect)" 2 \
    "$(readelf -lW "$shim" | grep -c '^ *LOAD ')"

# 1. no AIO call
run none0 -- none
run none1 LD_PRELOAD="$shim" -- none
check "no AIO call, no shim: nothing mapped" "maps: no AIO call: stub=0 engine=0 threads=1" "$(cat "$work/none0.err")"
check "no AIO call under the shim: the stub only, one thread" \
    "maps: no AIO call: stub=1 engine=0 threads=1" "$(cat "$work/none1.err")" "$work/none1.err"

# 2. before and after the first submission
run glibc -- "$work/data"
run shim LD_PRELOAD="$shim" AIO_SHIM_STATS="$work/stats" -- "$work/data"
check "glibc run exits 0" 0 "$(cat "$work/glibc.rc")" "$work/glibc.err"
check "shim run exits 0" 0 "$(cat "$work/shim.rc")" "$work/shim.err"
check "same transcript as glibc ($(grep -c '^=' "$work/glibc.out") lines)" \
    "$(cat "$work/glibc.out")" "$(cat "$work/shim.out")"
check "before any submission: the engine is not mapped (the stub answered)" \
    "maps: before any submission: stub=1 engine=0 threads=1" \
    "$(grep 'before any' "$work/shim.err")" "$work/shim.err"
check "after aio_read: the engine is mapped" 1 \
    "$(grep -c 'after one aio_read: stub=1 engine=1' "$work/shim.err")" "$work/shim.err"
check "the engine served the read (stats submitted=1)" 1 "$(stat_of submitted "$work/stats")" "$work/stats"

# 3. first calls racing
run race LD_PRELOAD="$shim" AIO_SHIM_STATS="$work/stats.race" -- race "$work/data"
check "8 racing first calls all read" "= race: 8 of 8 first calls read 512 bytes" "$(cat "$work/race.out")" "$work/race.err"
check "the engine served all 8 (stats submitted=8)" 8 "$(stat_of submitted "$work/stats.race")" "$work/stats.race"

# 4. LD_PRELOAD names the stub relatively; the program moves before its
# first AIO call: the engine is still found (beside the stub, not in the new
# working directory)
rel=$(realpath --relative-to="$PWD" "$shim")
run chdir LD_PRELOAD="$rel" AIO_SHIM_STATS="$work/stats.chdir" -- chdir / "$work/data"
check "relative LD_PRELOAD, chdir, aio_read: read" "= chdir, then aio_read 512" "$(cat "$work/chdir.out")" "$work/chdir.err"
check "relative LD_PRELOAD, chdir: the engine loaded and served it" "1 1" \
    "$(grep -c 'engine=1' "$work/chdir.err") $(stat_of submitted "$work/stats.chdir")" "$work/chdir.err"

# 5. no engine: glibc serves, quietly unless asked
run noeng LD_PRELOAD="$shim" AIO_SHIM_ENGINE=/nonexistent/libaio_shim_engine.so AIO_SHIM_STATS="$work/stats.noeng" -- "$work/data"
check "engine missing: exits 0" 0 "$(cat "$work/noeng.rc")" "$work/noeng.err"
check "engine missing: same transcript as glibc (glibc served)" "$(cat "$work/glibc.out")" "$(cat "$work/noeng.out")"
check "engine missing: nothing on stderr but the probe's own lines" "" \
    "$(grep -v '^maps:' "$work/noeng.err")" "$work/noeng.err"
check "engine missing: no engine, no stats" "0 none" \
    "$(grep -c 'engine=1' "$work/noeng.err") $([ -e "$work/stats.noeng" ] && echo stats || echo none)"
run noenglog LD_PRELOAD="$shim" AIO_SHIM_ENGINE=/nonexistent/libaio_shim_engine.so AIO_SHIM_LOG=warn -- "$work/data"
check "engine missing, AIO_SHIM_LOG=warn: one line says so" 1 \
    "$(grep -c '^aio_shim: cannot use the engine /nonexistent/libaio_shim_engine.so: .*; POSIX AIO calls go to glibc$' "$work/noenglog.err")" \
    "$work/noenglog.err"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
