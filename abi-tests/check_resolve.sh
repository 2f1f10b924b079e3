#!/usr/bin/env bash
# Prove at run time that every AIO entry point resolves to the shim under
# LD_PRELOAD: for each NAME@VERSION that libc.so.6 exports (aio_*, lio_*),
# tools/resolve.c calls dlvsym(RTLD_DEFAULT, NAME, VERSION) (and dlsym for
# the default @@ version) and dladdr() tells which object defines the
# result.  Without the shim everything must come from libc.so.6 (checks the
# tool), with it everything must come from the shim.
#
# usage: abi-tests/check_resolve.sh [--shim PATH] [--libc PATH]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shim=${SHIM:-$root/target/release/libaio_shim.so}
libc=/lib/x86_64-linux-gnu/libc.so.6
while [ $# -gt 0 ]; do
    case $1 in
        --shim) shim=$2; shift 2 ;;
        --libc) libc=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "check_resolve: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -f "$shim" ] || { echo "check_resolve: FAIL: no shim at $shim" >&2; exit 1; }
case $shim in /*) ;; *) shim=$(cd "$(dirname "$shim")" && pwd)/$(basename "$shim") ;; esac

bin=$here/build/tools/resolve
mkdir -p "$(dirname "$bin")"
if [ ! -x "$bin" ] || [ "$here/tools/resolve.c" -nt "$bin" ]; then
    gcc -O1 -g -Wall -o "$bin" "$here/tools/resolve.c" -ldl || {
        echo "check_resolve: FAIL: cannot build $bin"; exit 1; }
fi

mapfile -t syms < <(readelf --dyn-syms -W "$libc" |
    awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $8 ~ /^(aio_|lio_)/ { print $8 }' | sort -u)
if [ ${#syms[@]} -eq 0 ]; then
    echo "check_resolve: FAIL: no aio_/lio_ symbols found in $libc"; exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# 1. without the shim: the tool must see libc for everything
"$bin" "${syms[@]}" > "$tmp/plain" 2>&1
libc_base=$(basename "$libc")
bad=$(tr ' ' '\n' < "$tmp/plain" | grep '=' | grep -v "=$libc_base\$" || true)
if [ -n "$bad" ]; then
    echo "check_resolve: FAIL: without the shim some lookups do not give $libc_base:"
    sed 's/^/  /' "$tmp/plain"
    status=1
fi

# 2. with the shim: everything must come from the shim
shim_base=$(basename "$shim")
LD_PRELOAD=$shim "$bin" "${syms[@]}" > "$tmp/shim" 2>&1
n=0
while read -r sym rest; do
    for kv in $rest; do
        n=$((n + 1))
        if [ "${kv#*=}" != "$shim_base" ]; then
            echo "check_resolve: $sym ${kv%%=*} -> ${kv#*=} (want $shim_base)"
            status=1
        fi
    done
done < "$tmp/shim"
if [ $n -eq 0 ]; then
    echo "check_resolve: FAIL: no output from the tool under LD_PRELOAD:"
    sed 's/^/  /' "$tmp/shim"
    status=1
fi
if [ $status -eq 0 ]; then
    echo "check_resolve: OK: ${#syms[@]} versioned names, $n lookups, all resolve to $shim_base"
else
    echo "check_resolve: FAIL"
fi
exit $status
