#!/usr/bin/env bash
# The user's side, end to end, on an installed copy:
#   - scripts/install --no-build --prefix P puts bin/aio-shim, the library in
#     lib/aio-shim/ and both man pages in place, and P/bin/aio-shim finds the
#     library there (LD_PRELOAD shows it, first and once);
#   - P/bin/aio-shim --stats=FILE -- PROG: the stats prove the shim served
#     PROG's POSIX AIO calls;
#   - man -l renders aio-shim.1 and libaio_shim.7 without warnings (and
#     groff -ww agrees), and man finds them under P/share/man;
#   - exit statuses 125 (bad option, library not found, bench script not
#     found), 126 (not executable, statically linked, set-user-ID), 127
#     (command not found);
#   - a process that never calls AIO keeps exactly one thread under the shim;
#   - aio-shim bench passes its arguments to the script; doctor answers;
#   - scripts/uninstall --prefix P removes exactly what was installed.
# Needs target/release/{aio-shim,libaio_shim.so} (cargo build --release) and
# gcc. Prints PASS/FAIL/SKIP per check and "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
base=$root/target/check-install
prefix=$base/prefix
work=$base/work
rm -rf "$base"; mkdir -p "$prefix" "$work"
prefix=$(realpath "$prefix")
pass=0; fail=0
ok()   { echo "PASS $1"; pass=$((pass+1)); }
bad()  { echo "FAIL $1"; fail=$((fail+1)); [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    /' "$2" | tail -20; }
skip() { echo "SKIP $1"; }
check() { # name expected actual [details file]
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected $2, got $3" "${4:-}"; fi
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ] && rm -rf "$base"
    [ "$fail" -eq 0 ]
    exit
}
apt_install() { # packages...: quietly, only as root with apt-get
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq "$@"; } >"$work/apt.log" 2>&1
}

for f in target/release/aio-shim target/release/libaio_shim.so target/release/libaio_shim_engine.so; do
    [ -f "$f" ] || { bad "$f missing (cargo build --release)"; finish; }
done
command -v gcc >/dev/null 2>&1 || { bad "gcc is needed"; finish; }

# --- install ---------------------------------------------------------------
scripts/install --no-build --prefix "$prefix" > "$work/install.log" 2>&1
check "install --no-build exits 0" 0 $? "$work/install.log"
cli=$prefix/bin/aio-shim
lib=$prefix/lib/aio-shim/libaio_shim.so
missing=""
for f in bin/aio-shim lib/aio-shim/libaio_shim.so lib/aio-shim/libaio_shim_engine.so share/man/man1/aio-shim.1 share/man/man7/libaio_shim.7; do
    [ -f "$prefix/$f" ] || missing="$missing $f"
done
check "install puts the 5 files in place${missing:+ (missing:$missing)}" "" "$missing"
[ -x "$cli" ] || { bad "no executable $cli"; finish; }
installed=$(cd "$prefix" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
check "install writes nothing else" "./bin/aio-shim ./lib/aio-shim/libaio_shim.so ./lib/aio-shim/libaio_shim_engine.so ./share/man/man1/aio-shim.1 ./share/man/man7/libaio_shim.7 " "$installed"

# The installed command must use the installed library, whatever the caller's
# environment says about the build tree.
unset AIO_SHIM_LIB AIO_SHIM_BENCH AIO_SHIM_STATS AIO_SHIM_BACKEND AIO_SHIM_LOG AIO_SHIM_DIRECT
seen=$(env -u LD_PRELOAD "$cli" -- sh -c 'printf %s "$LD_PRELOAD"' 2>"$work/preload.err")
check "installed aio-shim preloads ../lib/aio-shim/libaio_shim.so" "$lib" "$seen" "$work/preload.err"
seen=$(LD_PRELOAD="/nonexistent/libother.so:$lib" "$cli" -- sh -c 'printf %s "$LD_PRELOAD"' 2>/dev/null)
check "LD_PRELOAD: the shim first, others kept, never twice" "$lib:/nonexistent/libother.so" "$seen"

# --- a small AIO program, served by the installed shim -------------------------
cat > "$work/aio_small.c" <<'C'
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    static char out[4096], in[4096];
    memset(out, 'x', sizeof out);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || argc < 2)
        return 9;
    struct aiocb w, r;
    memset(&w, 0, sizeof w);
    w.aio_fildes = fd; w.aio_buf = out; w.aio_nbytes = sizeof out;
    if (aio_write(&w))
        return 9;
    const struct aiocb *lw[] = { &w };
    while (aio_error(&w) == EINPROGRESS)
        aio_suspend(lw, 1, NULL);
    memset(&r, 0, sizeof r);
    r.aio_fildes = fd; r.aio_buf = in; r.aio_nbytes = sizeof in;
    if (aio_read(&r))
        return 9;
    const struct aiocb *lr[] = { &r };
    while (aio_error(&r) == EINPROGRESS)
        aio_suspend(lr, 1, NULL);
    printf("wrote %zd read %zd same %d\n", aio_return(&w), aio_return(&r),
           memcmp(in, out, sizeof in) == 0);
    unlink(argv[1]);
    return 0;
}
C
gcc -O2 -o "$work/aio_small" "$work/aio_small.c" -lrt 2>"$work/gcc.log" || { bad "gcc aio_small.c" "$work/gcc.log"; finish; }
out=$("$cli" --stats="$work/stats.jsonl" -- "$work/aio_small" "$work/small.dat" 2>"$work/small.err")
check "aio-shim --stats=FILE -- PROG: PROG's exit status" 0 $? "$work/small.err"
check "aio-shim --stats=FILE -- PROG: PROG's output" "wrote 4096 read 4096 same 1" "$out" "$work/small.err"
num() { grep -o "\"$1\":[0-9]*" "$work/stats.jsonl" 2>/dev/null | head -1 | cut -d: -f2; }
calls=$(num calls); submitted=$(num submitted); completed=$(num completed)
[ "${calls:-0}" -ge 4 ] && [ "${submitted:-0}" -eq 2 ] && [ "${completed:-0}" -eq 2 ]
check "stats prove the shim served it (calls=${calls:-none} submitted=${submitted:-none} completed=${completed:-none})" 0 $? "$work/stats.jsonl"

# --- man pages -------------------------------------------------------------------
if ! command -v man >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1; then
    apt_install man-db groff-base || true
fi
if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
    for page in man/aio-shim.1 man/libaio_shim.7; do
        # man-db hides troff's warnings unless asked: --warnings=w is all of them.
        MANWIDTH=80 man --warnings=w -l "$page" > "$work/man.out" 2> "$work/man.err"
        rc=$?
        [ "$rc" -eq 0 ] && [ ! -s "$work/man.err" ] && [ "$(wc -l < "$work/man.out")" -gt 50 ]
        check "man -l $page renders without warnings" 0 $? "$work/man.err"
        groff -man -Tutf8 -ww -z "$page" > "$work/groff.err" 2>&1
        [ $? -eq 0 ] && [ ! -s "$work/groff.err" ]
        check "groff -man -ww $page: no warnings" 0 $? "$work/groff.err"
    done
    found=$(man -M "$prefix/share/man" -w aio-shim 2>/dev/null)
    check "man finds the installed aio-shim(1)" "$prefix/share/man/man1/aio-shim.1" "$found"
    found=$(man -M "$prefix/share/man" -w 7 libaio_shim 2>/dev/null)
    check "man finds the installed libaio_shim(7)" "$prefix/share/man/man7/libaio_shim.7" "$found"
else
    skip "man pages: man/groff unavailable and cannot be installed (see $work/apt.log)"
fi

# --- exit statuses -----------------------------------------------------------------
"$cli" --frobnicate true > "$work/e.log" 2>&1
check "bad option -> 125" 125 $? "$work/e.log"
"$cli" > "$work/e.log" 2>&1
check "no command -> 125" 125 $? "$work/e.log"
AIO_SHIM_LIB=/nonexistent/libaio_shim.so "$cli" -- true > "$work/e.log" 2>&1
check "library not found -> 125" 125 $? "$work/e.log"
printf 'data\n' > "$work/notexec"; chmod 644 "$work/notexec"
"$cli" -- "$work/notexec" > "$work/e.log" 2>&1
check "non-executable file -> 126" 126 $? "$work/e.log"
"$cli" -- "$work" > "$work/e.log" 2>&1
check "a directory -> 126" 126 $? "$work/e.log"
"$cli" -- "$work/no-such-program" > "$work/e.log" 2>&1
check "missing command (path) -> 127" 127 $? "$work/e.log"
PATH=/usr/bin:/bin "$cli" -- no-such-command-aio-shim-xyz > "$work/e.log" 2>&1
check "missing command (PATH lookup) -> 127" 127 $? "$work/e.log"
"$cli" -- sh -c 'exit 42' > "$work/e.log" 2>&1
check "CMD's own exit status is aio-shim's" 42 $? "$work/e.log"

# --- refusals --------------------------------------------------------------------------
printf 'int main(void) { return 0; }\n' > "$work/static.c"
static_ok=0
if gcc -static -o "$work/static" "$work/static.c" 2>"$work/gcc-static.log"; then
    static_ok=1
elif apt_install libc6-dev && gcc -static -o "$work/static" "$work/static.c" 2>"$work/gcc-static.log"; then
    static_ok=1
fi
if [ "$static_ok" -eq 1 ]; then
    "$cli" -- "$work/static" > "$work/static.log" 2>&1
    check "statically linked CMD refused -> 126" 126 $? "$work/static.log"
    grep -q "statically linked" "$work/static.log"
    check "the refusal says why (statically linked)" 0 $? "$work/static.log"
    "$cli" doctor "$work/static" > "$work/doctor-static.log" 2>&1
    grep -q "^verdict: aio-shim would refuse it" "$work/doctor-static.log"
    check "doctor: verdict refuses the static binary" 0 $? "$work/doctor-static.log"
else
    skip "statically linked CMD: no libc.a (gcc -static failed; see $work/gcc-static.log)"
fi
cp /bin/true "$work/suid-true" && chmod 4755 "$work/suid-true"
"$cli" -- "$work/suid-true" > "$work/suid.log" 2>&1
check "set-user-ID CMD refused -> 126" 126 $? "$work/suid.log"
grep -q "set-user-ID" "$work/suid.log"
check "the refusal says why (set-user-ID)" 0 $? "$work/suid.log"
cp /bin/true "$work/sgid-true" && chmod 2755 "$work/sgid-true"
"$cli" -- "$work/sgid-true" > "$work/sgid.log" 2>&1
check "set-group-ID CMD refused -> 126" 126 $? "$work/sgid.log"

# --- invisible when unused: one thread ----------------------------------------------------
cat > "$work/threads.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(void)
{
    char line[256];
    int threads = -1, shim = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            sscanf(line + 8, "%d", &threads);
    if (f)
        fclose(f);
    f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "libaio_shim.so"))
            shim = 1;
    if (f)
        fclose(f);
    printf("threads=%d shim=%s\n", threads, shim ? "loaded" : "absent");
    return 0;
}
C
gcc -O2 -o "$work/threads" "$work/threads.c" 2>"$work/gcc.log" || { bad "gcc threads.c" "$work/gcc.log"; finish; }
out=$("$cli" -- "$work/threads" 2>"$work/threads.err")
check "no AIO calls: the shim is loaded and the process has exactly one thread" "threads=1 shim=loaded" "$out" "$work/threads.err"
out=$("$cli" -- sh -c 'ls /proc/$$/task | wc -l' 2>"$work/threads.err")
check "no AIO calls: sh under the shim has one thread" 1 "$(echo $out)" "$work/threads.err"

# --- bench and doctor ---------------------------------------------------------------------
"$cli" bench > "$work/bench.log" 2>&1
rc=$?
grep -q AIO_SHIM_BENCH "$work/bench.log"
check "bench without the source tree -> 125, naming AIO_SHIM_BENCH" "125 0" "$rc $?" "$work/bench.log"
printf '#!/bin/sh\necho "$*"\nexit 3\n' > "$work/fakebench"; chmod 755 "$work/fakebench"
out=$(cd "$work" && AIO_SHIM_BENCH="$work/fakebench" "$cli" bench --dir data --runs 2 --only qd32 2>"$work/bench.err")
rc=$?
check "bench: runs the script with --quick and ARGS (relative --dir made absolute)" "--quick --dir $work/data --runs 2 --only qd32" "$out" "$work/bench.err"
check "bench: the script's exit status" 3 "$rc" "$work/bench.err"
"$cli" doctor --dir "$work" --file "$work/notexec" "$work/aio_small" > "$work/doctor.log" 2>&1
check "doctor --dir --file BINARY -> 0" 0 $? "$work/doctor.log"
grep -q "^library: $lib (in ../lib/aio-shim/" "$work/doctor.log"
check "doctor: finds the installed library" 0 $? "$work/doctor.log"
grep -q "^routing (auto), opened without O_DIRECT: " "$work/doctor.log"
check "doctor --file: routing for a regular file" 0 $? "$work/doctor.log"
grep -q "^binary imports: aio_read@" "$work/doctor.log" && grep -q "^verdict: aio-shim can run it" "$work/doctor.log"
check "doctor BINARY: AIO imports and verdict" 0 $? "$work/doctor.log"
mkfifo "$work/fifo"
timeout 10 "$cli" doctor --file "$work/fifo" > "$work/doctor-fifo.log" 2>&1
rc=$?
grep -q "^routing (auto) for this file: uring" "$work/doctor-fifo.log"
check "doctor --file FIFO: uring, without blocking" "0 0" "$rc $?" "$work/doctor-fifo.log"

# --- uninstall ------------------------------------------------------------------------------
mkdir -p "$prefix/share/man/man1"
echo keep > "$prefix/bin/other-tool"
echo keep > "$prefix/share/man/man1/other.1"
scripts/uninstall --prefix "$prefix" > "$work/uninstall.log" 2>&1
check "uninstall exits 0" 0 $? "$work/uninstall.log"
left=$(cd "$prefix" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
check "uninstall removes exactly the installed files" "./bin/other-tool ./share/man/man1/other.1 " "$left" "$work/uninstall.log"
[ ! -e "$prefix/lib/aio-shim" ]
check "uninstall removes the empty lib/aio-shim" 0 $? "$work/uninstall.log"
scripts/uninstall --prefix "$prefix" > "$work/uninstall2.log" 2>&1
check "uninstall again: nothing to do, exits 0" 0 $? "$work/uninstall2.log"

finish
