#!/usr/bin/env bash
# Check the dynamic symbols DEFINED by libaio_shim.so: the exact set must be
# the AIO symbol set that glibc's libc.so.6 exports (every aio_* / lio_*
# name with its @ / @@ version, computed live from libc with readelf), plus
# the four functions that change RLIMIT_FSIZE (setrlimit, setrlimit64,
# prlimit, prlimit64, with libc's versions: the stub counts those calls so
# the engine can cache the limit), and nothing else (no Rust internals, no
# unversioned duplicates). Also: the
# stub needs only libc, and its engine exports only its table function.
#
# usage: abi-tests/check_exports.sh [--shim PATH] [--libc PATH]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shim=${SHIM:-$root/target/release/libaio_shim.so}
libc=/lib/x86_64-linux-gnu/libc.so.6
while [ $# -gt 0 ]; do
    case $1 in
        --shim) shim=$2; shift 2 ;;
        --libc) libc=$2; shift 2 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "check_exports: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$shim" ] || { echo "check_exports: FAIL: no shim at $shim" >&2; exit 1; }
[ -f "$libc" ] || { echo "check_exports: FAIL: no libc at $libc" >&2; exit 1; }

# defined dynamic symbols: "name", "name@VER" or "name@@VER"
# (version definitions show up as size-0 ABS OBJECT symbols named after the
# version, e.g. "GLIBC_2.2.5" or "GLIBC_PRIVATE": they are not exports.)
defined() {
    readelf --dyn-syms -W "$1" | awk '
        $1 ~ /^[0-9]+:$/ && $7 != "UND" && $8 != "" {
            if ($4 == "SECTION" || $4 == "FILE") next
            if ($7 == "ABS" && $3 == 0 && $8 !~ /@/) next
            print $8
        }' | sort -u
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
defined "$libc" | grep -E '^((aio_|lio_).*|(setrlimit|setrlimit64|prlimit|prlimit64)@@.*)$' > "$tmp/want"
defined "$shim" > "$tmp/have"

if [ ! -s "$tmp/want" ]; then
    echo "check_exports: FAIL: found no aio_/lio_ symbols in $libc" >&2
    exit 1
fi
missing=$(comm -23 "$tmp/want" "$tmp/have")
extra=$(comm -13 "$tmp/want" "$tmp/have")
nwant=$(wc -l < "$tmp/want")
nhave=$(wc -l < "$tmp/have")
status=0
if [ -n "$missing" ]; then
    echo "check_exports: MISSING from $shim (exported by libc):"
    echo "$missing" | sed 's/^/  - /'
    status=1
fi
if [ -n "$extra" ]; then
    echo "check_exports: EXTRA in $shim (not one of the libc symbols above):"
    echo "$extra" | sed 's/^/  + /'
    status=1
fi

# The stub (shim/stub.rs) must stay cheap to preload: its only dependency is
# libc (no libgcc_s, no Rust std: those are the engine's, loaded on first use).
needed=$(readelf -d "$shim" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
if [ "$needed" != "libc.so.6 " ]; then
    echo "check_exports: FAIL: $shim needs '$needed'; the preloaded stub may need only libc.so.6"
    status=1
fi
# The engine exports exactly its table function: nothing of it can interpose.
engine=$(dirname "$shim")/libaio_shim_engine.so
if [ ! -f "$engine" ]; then
    echo "check_exports: FAIL: no engine beside the shim ($engine)"
    status=1
else
    eng_syms=$(defined "$engine" | tr '\n' ' ')
    if [ "$eng_syms" != "aio_shim_engine_v1 " ]; then
        echo "check_exports: FAIL: $engine defines '$eng_syms'; want only 'aio_shim_engine_v1'"
        status=1
    fi
fi
if [ $status -eq 0 ]; then
    echo "check_exports: OK: $nhave symbols, same set as libc's $nwant aio_/lio_ and setrlimit/prlimit symbols"
else
    echo "check_exports: FAIL: libc has $nwant aio_/lio_ and setrlimit/prlimit symbols, shim defines $nhave"
fi
exit $status
