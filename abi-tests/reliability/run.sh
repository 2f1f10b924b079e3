#!/usr/bin/env bash
# Reliability and security tests: faults injected under programs that use
# POSIX AIO, run under glibc and under libaio_shim.so (see RELIABILITY.md
# at the top of the repository for what each case proves).
#
# usage: abi-tests/reliability/run.sh [--shim PATH] [--soak SECONDS] [--keep]
#                                     [--glibc-known-wrong] [--list] [FILTER...]
#
#   --shim PATH          the library (default: target/release/libaio_shim.so)
#   --soak SECONDS       length of the soak case under the shim (default 5)
#   --keep               keep target/reliability/work/ of passing cases
#   --glibc-known-wrong  also run glibc where it is known to hang or crash
#                        (fork children, lio_listio after EINTR) and show
#                        what it does (informational, never a failure)
#   --list               print the case names and exit
#   FILTER               only cases whose name contains one of the FILTERs
#
# Every run is wrapped in `timeout`; programs have their own watchdog too.
# A case passes only if the shim's stats (or, for a process killed with
# SIGKILL, the shim's thread names; for secure execution, its threads) show
# that the shim served the calls. Needs root for mounts, the aio-max-nr
# sysctl, RLIMIT_NPROC as another user and the setuid copy; those cases
# FAIL with a reason when it is missing. Mounts, loop devices, the FUSE
# daemon and the sysctl are cleaned up by a trap, even on failure.
#
# Prints PASS/FAIL per case (details on failure), then "N passed, N failed";
# exit status 1 if anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shim=$root/target/release/libaio_shim.so
soak=5
keep=0
glibc_wrong=0
list=0
filters=()
while [ $# -gt 0 ]; do
    case $1 in
        --shim) shim=$2; shift 2 ;;
        --shim=*) shim=${1#--shim=}; shift ;;
        --soak) soak=$2; shift 2 ;;
        --soak=*) soak=${1#--soak=}; shift ;;
        --keep) keep=1; shift ;;
        --glibc-known-wrong) glibc_wrong=1; shift ;;
        --list) list=1; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) filters+=("$1"); shift ;;
    esac
done
case $shim in /*) ;; *) shim=$(pwd)/$shim ;; esac
[[ $soak =~ ^[0-9]+$ ]] && [ "$soak" -ge 1 ] || { echo "run.sh: --soak needs a number of seconds" >&2; exit 2; }

base=$root/target/reliability
bin=$base/bin
work=$base/work
CC=${CC:-gcc}
CFLAGS="-O1 -g -Wall -pthread"
NOBODY_UID=65534
NOBODY_GID=65534

# ------------------------------------------------------------------ cleanup
mounts=()
fuse_pid=
sysctl_saved=
uring_saved=
cleanup() {
    local m
    if [ -n "$sysctl_saved" ]; then
        echo "$sysctl_saved" > /proc/sys/fs/aio-max-nr 2>/dev/null
        sysctl_saved=
    fi
    if [ -n "$uring_saved" ]; then
        echo "$uring_saved" > /proc/sys/kernel/io_uring_disabled 2>/dev/null
        uring_saved=
    fi
    if [ -n "$fuse_pid" ]; then
        fusermount3 -u "$base/mnt-fuse" 2>/dev/null || umount -l "$base/mnt-fuse" 2>/dev/null
        kill "$fuse_pid" 2>/dev/null
        wait "$fuse_pid" 2>/dev/null
        fuse_pid=
    fi
    for m in "${mounts[@]}"; do
        mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; }
    done
    mounts=()
    rm -f "$base/ext4.img" "$base/xfs.img"
    [ $keep = 1 ] || rm -rf "$work/soak" "$work/durable"* 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ cases
all_cases=(
    enospc_ext4_buffered enospc_ext4_direct enospc_tmpfs_buffered enospc_tmpfs_direct
    efbig_sigxfsz_ignored_buffered efbig_sigxfsz_ignored_direct
    sigxfsz_default_buffered sigxfsz_default_direct
    sigxfsz_handler_buffered sigxfsz_handler_direct
    sigxfsz_default_direct_late sigxfsz_default_direct_late_prlimit
    sigxfsz_default_direct_other_process
    efbig_sigxfsz_ignored_buffered_xfs sigxfsz_default_buffered_xfs sigxfsz_handler_buffered_xfs
    fd_closed_or_replaced_in_flight shim_threads_open_no_fd kaio_waiters fd_replaced_by_pipe_in_flight fd_replaced_by_pipe_ring_full fd_replaced_by_pipe_idle fd_replaced_by_pipe_buffered daemon_close_all_fds
    aio_max_nr_exhausted aio_max_nr_exhausted_fork io_uring_disabled
    nproc_sigev_thread nproc_requests_vs_glibc
    suspend_pthread_cancel
    signal_storm_restart_suspend signal_storm_norestart_suspend
    signal_storm_restart_lio signal_storm_norestart_lio
    fork_heavy_fresh_fd fork_heavy_same_fd exec_no_fd_leak
    durable_sigkill_buffered durable_sigkill_direct
    soak
    secure_exec_ignores_settings stats_symlink_not_followed stats_file_mode_0600 stats_path_fifo
    signals_untouched_stdout_clean no_aio_no_thread_no_fd
    eio_fuse_buffered eio_fuse_odirect eio_fuse_direct_io append_queued_fuse
)
matches() {
    [ ${#filters[@]} -eq 0 ] && return 0
    local f
    for f in "${filters[@]}"; do [[ $1 == *"$f"* ]] && return 0; done
    return 1
}
if [ $list = 1 ]; then printf '%s\n' "${all_cases[@]}"; exit 0; fi

if [ ! -f "$shim" ]; then
    echo "run.sh: shim not found: $shim (cargo build --release, or --shim PATH)"
    echo "0 passed, 1 failed"
    exit 1
fi

# ------------------------------------------------------------------ build
mkdir -p "$bin" "$work"
build_failed=0
for src in "$here"/c/*.c; do
    n=$(basename "$src" .c)
    out=$bin/$n
    if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$here/rel.h" ]; then continue; fi
    if ! $CC $CFLAGS -o "$out" "$src" -lrt > "$out.log" 2>&1 || [ -s "$out.log" ]; then
        echo "build of $n failed or warned:"; cat "$out.log"; build_failed=1; rm -f "$out"
    fi
done
if command -v pkg-config >/dev/null && pkg-config --exists fuse3 2>/dev/null; then
    if [ ! -x "$bin/fusefs" ] || [ "$here/fusefs.c" -nt "$bin/fusefs" ]; then
        # shellcheck disable=SC2046
        $CC -O1 -g -Wall -o "$bin/fusefs" "$here/fusefs.c" $(pkg-config --cflags --libs fuse3) > "$bin/fusefs.log" 2>&1 ||
            { echo "build of fusefs failed:"; cat "$bin/fusefs.log"; rm -f "$bin/fusefs"; }
    fi
fi

# ------------------------------------------------------------------ helpers
passed=0
failed=0
failures=()
DET=        # details file of the current case

note() { echo "$*" >> "$DET"; }
fail() { note "$*"; return 1; }

stat_sum() { # file key
    grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | awk -F: '{ s += $2 } END { print s + 0 }'
}
stat_lines() { [ -f "$1" ] && grep -c '"calls"' "$1" || echo 0; }

# check_stats FILE EXPR... : "calls>0" is always required; EXPR is
# KEY OP N with KEY a counter or a sum of counters (pool+uring), summed over
# the processes' lines
check_stats() {
    local f=$1 e key op val have ok=0
    shift
    if [ ! -s "$f" ]; then note "shim not proven: no stats in $f"; return 1; fi
    for e in "calls>0" "$@"; do
        [[ $e =~ ^([a-z_+]+)(>=|<=|==|>|<)([0-9]+)$ ]] || { note "bad stat expression $e"; ok=1; continue; }
        key=${BASH_REMATCH[1]}; op=${BASH_REMATCH[2]}; val=${BASH_REMATCH[3]}
        # key may be a sum: "pool+uring" (whichever backend served it)
        have=0
        local k
        for k in ${key//+/ }; do have=$((have + $(stat_sum "$f" "$k"))); done
        if ! awk -v a="$have" -v b="$val" -v op="$op" 'BEGIN {
                r = (op == ">") ? a > b : (op == ">=") ? a >= b : (op == "==") ? a == b : (op == "<") ? a < b : a <= b
                exit r ? 0 : 1 }'; then
            note "stats: $e failed ($key = $have)"; ok=1
        fi
    done
    [ $ok = 0 ] || { note "--- stats:"; cat "$f" >> "$DET"; }
    return $ok
}

rc_note() {
    case $1 in
        124) echo "124 (timeout)" ;;
        *) if [ "$1" -gt 128 ]; then echo "$1 (signal $(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128))))"; else echo "$1"; fi ;;
    esac
}

# run MODE DIR TIMEOUT CMD... -> DIR/{out,err,rc,stats}; MODE glibc|shim|shim-nobody|glibc-nobody
# Extra environment for the shim run: the array SHIM_ENV.
SHIM_ENV=()
run() {
    local mode=$1 dir=$2 t=$3 rc
    shift 3
    rm -rf "$dir"; mkdir -p "$dir"
    local pre=()
    case $mode in
        *nobody) chmod 1777 "$dir"; pre=(setpriv --reuid=$NOBODY_UID --regid=$NOBODY_GID --clear-groups) ;;
    esac
    case $mode in
        shim*) (cd "$dir" && timeout -k 5 "$t" "${pre[@]}" env LD_PRELOAD="$shim" AIO_SHIM_STATS="$dir/stats" \
                    "${SHIM_ENV[@]}" "$@" > "$dir/out" 2> "$dir/err" < /dev/null) 2>/dev/null ;;
        glibc*) (cd "$dir" && timeout -k 5 "$t" "${pre[@]}" env -u LD_PRELOAD -u AIO_SHIM_STATS \
                    "$@" > "$dir/out" 2> "$dir/err" < /dev/null) 2>/dev/null ;;
    esac
    rc=$?
    echo $rc > "$dir/rc"
    return 0
}

# a run's own verdict: no BAD/FATAL/WATCHDOG lines
clean_run() { # dir label
    if grep -qE '^(BAD|FATAL|WATCHDOG)' "$1/out"; then
        note "$2 reported:"; grep -E '^(BAD|FATAL|WATCHDOG)' "$1/out" | head -8 | sed 's/^/  /' >> "$DET"
        return 1
    fi
    return 0
}

show_run() { # dir label
    note "--- $2: exit $(rc_note "$(cat "$1/rc")")"
    sed 's/^/  | /' "$1/out" | head -40 >> "$DET"
    [ -s "$1/err" ] && { note "  stderr:"; tail -n 8 "$1/err" | sed 's/^/  ! /' >> "$DET"; }
}

# ab NAME TIMEOUT [STAT-EXPR...] -- CMD...
#   glibc and shim runs in $work/NAME.{glibc,shim}; same stdout, same exit
#   status, no BAD/FATAL/WATCHDOG in either, stats expressions hold.
ab() {
    local name=$1 t=$2 exprs=() ok=0
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do exprs+=("$1"); shift; done
    shift
    local g=$work/$name.glibc s=$work/$name.shim
    run glibc "$g" "$t" "$@"
    run shim "$s" "$t" "$@"
    clean_run "$g" glibc || { note "(the case itself fails under glibc)"; ok=1; }
    clean_run "$s" shim || ok=1
    if ! diff -u --label glibc --label shim "$g/out" "$s/out" > "$s/diff"; then
        note "stdout differs:"; cat "$s/diff" >> "$DET"; ok=1
    fi
    if [ "$(cat "$g/rc")" != "$(cat "$s/rc")" ]; then
        note "exit status: glibc $(rc_note "$(cat "$g/rc")"), shim $(rc_note "$(cat "$s/rc")")"; ok=1
    fi
    check_stats "$s/stats" "${exprs[@]}" || ok=1
    [ $ok = 0 ] || { show_run "$g" glibc; show_run "$s" shim; }
    return $ok
}

# expect NAME TIMEOUT EXPECTED-TEXT [STAT-EXPR...] -- CMD...
#   glibc is known wrong here: the shim's stdout must equal EXPECTED-TEXT.
expect() {
    local name=$1 t=$2 want=$3 exprs=() ok=0
    shift 3
    while [ $# -gt 0 ] && [ "$1" != -- ]; do exprs+=("$1"); shift; done
    shift
    local s=$work/$name.shim
    run shim "$s" "$t" "$@"
    clean_run "$s" shim || ok=1
    printf '%s\n' "$want" > "$s/expected"
    if ! diff -u --label expected --label shim "$s/expected" "$s/out" > "$s/diff"; then
        note "stdout differs from the expected behaviour:"; cat "$s/diff" >> "$DET"; ok=1
    fi
    [ "$(cat "$s/rc")" = 0 ] || { note "shim exit status $(rc_note "$(cat "$s/rc")")"; ok=1; }
    check_stats "$s/stats" "${exprs[@]}" || ok=1
    [ $ok = 0 ] || show_run "$s" shim
    if [ $glibc_wrong = 1 ]; then
        run glibc "$work/$name.glibc" "$t" "$@"
        echo "  (glibc, known wrong here: exit $(rc_note "$(cat "$work/$name.glibc/rc")"); $(grep -vE '^$' "$work/$name.glibc/out" | head -3 | tr '\n' ' '))"
    fi
    return $ok
}

need_root() { [ "$(id -u)" = 0 ] || fail "needs root"; }

mnt_ext4=$base/mnt-ext4
mnt_tmpfs=$base/mnt-tmpfs
mount_ext4() {
    need_root || return 1
    if mountpoint -q "$mnt_ext4"; then rm -rf "${mnt_ext4:?}"/*; return 0; fi
    mkdir -p "$mnt_ext4"
    rm -f "$base/ext4.img"
    truncate -s 8M "$base/ext4.img" && mkfs.ext4 -q -F "$base/ext4.img" > /dev/null 2>&1 &&
        mount -o loop "$base/ext4.img" "$mnt_ext4" || { fail "cannot make/mount an 8 MiB ext4 image"; return 1; }
    mounts+=("$mnt_ext4")
    rm -rf "${mnt_ext4:?}/lost+found"
}
mnt_xfs=$base/mnt-xfs
mount_xfs() {
    need_root || return 1
    if mountpoint -q "$mnt_xfs"; then rm -rf "${mnt_xfs:?}"/*; return 0; fi
    command -v mkfs.xfs >/dev/null || { fail "mkfs.xfs not installed (apt-get install -y xfsprogs)"; return 1; }
    mkdir -p "$mnt_xfs"
    rm -f "$base/xfs.img"
    # 320 MiB (the smallest XFS mkfs.xfs makes), sparse: a few MiB on disk
    truncate -s 320M "$base/xfs.img" && mkfs.xfs -q -f "$base/xfs.img" > /dev/null 2>&1 &&
        mount -o loop "$base/xfs.img" "$mnt_xfs" || { fail "cannot make/mount an XFS image"; return 1; }
    mounts+=("$mnt_xfs")
}
mount_tmpfs() {
    need_root || return 1
    if mountpoint -q "$mnt_tmpfs"; then rm -rf "${mnt_tmpfs:?}"/*; return 0; fi
    mkdir -p "$mnt_tmpfs"
    mount -t tmpfs -o size=4m tmpfs "$mnt_tmpfs" || { fail "cannot mount a tmpfs"; return 1; }
    mounts+=("$mnt_tmpfs")
}

# ------------------------------------------------------------------ 1. ENOSPC
enospc() { # fs io
    local mnt
    if [ "$1" = ext4 ]; then mount_ext4 || return 1; mnt=$mnt_ext4; else mount_tmpfs || return 1; mnt=$mnt_tmpfs; fi
    local exprs=("errors>0")
    [ "$2" = direct ] && exprs+=("kaio>0") || exprs+=("pool+nowait>0")
    rm -rf "${mnt:?}"/*
    ab "enospc_$1_$2" 60 "${exprs[@]}" -- "$bin/enospc" "$mnt" "$2"
}
case_enospc_ext4_buffered() { enospc ext4 buffered; }
case_enospc_ext4_direct() { enospc ext4 direct; }
case_enospc_tmpfs_buffered() { enospc tmpfs buffered; }
case_enospc_tmpfs_direct() { enospc tmpfs direct; }

# ------------------------------------------------------------------ 2. EFBIG / SIGXFSZ
# Files on target/ (ext4 here). glibc writes in a helper thread that blocks
# every signal: SIGXFSZ stays pending there, the caller sees EFBIG, a
# handler does not run, and SIG_DFL does not kill the process.
fsize() { # sigmode io [when]
    local exprs=("errors>0")
    [ "$2" = direct ] && exprs+=("kaio>0")
    ab "fsize_$1_$2${3:+_$3}" 30 "${exprs[@]}" -- "$bin/fsize" . "$1" "$2" ${3:+"$3"}
}
# XFS takes buffered writes with RWF_NOWAIT (ext4 and tmpfs refuse them):
# the shim's page-cache path writes in the caller's thread there.
fsize_xfs() { # sigmode
    mount_xfs || return 1
    ab "fsize_$1_xfs" 30 "errors>0" -- "$bin/fsize" "$mnt_xfs" "$1" buffered
}
case_efbig_sigxfsz_ignored_buffered_xfs() { fsize_xfs ignore; }
case_sigxfsz_default_buffered_xfs() { fsize_xfs default; }
case_sigxfsz_handler_buffered_xfs() { fsize_xfs handler; }
case_efbig_sigxfsz_ignored_buffered() { fsize ignore buffered; }
case_efbig_sigxfsz_ignored_direct() { fsize ignore direct; }
case_sigxfsz_default_buffered() { fsize default buffered; }
case_sigxfsz_default_direct() { fsize default direct; }
case_sigxfsz_handler_buffered() { fsize handler buffered; }
case_sigxfsz_handler_direct() { fsize handler direct; }
# The limit lowered after the shim has looked at it (it caches the limit,
# keyed by a count of the program's setrlimit/prlimit calls and, for other
# processes' prlimit, a 16 ms epoch).
case_sigxfsz_default_direct_late() { fsize default direct late; }
case_sigxfsz_default_direct_late_prlimit() { fsize default direct late-prlimit; }
case_sigxfsz_default_direct_other_process() { fsize default direct other; }

# ------------------------------------------------------------------ 3. fds
case_fd_closed_or_replaced_in_flight() {
    ab fd_inflight 60 "kaio>0" "pool+uring>0" -- "$bin/fd_inflight"
}
case_shim_threads_open_no_fd() {
    # A shim thread that opened anything could take the number of an fd
    # the program just closed, and a queued pread would read that file
    # (found this way: glibc's malloc opening /sys/devices/system/cpu/online
    # in a new worker; threads.rs). Under strace -f, every fd-creating
    # syscall of fd_inflight (single-threaded itself) must come from its
    # main thread, while the shim ran dozens of threads.
    command -v strace > /dev/null || { fail "strace not installed"; return 1; }
    local d=$work/threads_open mk
    mkdir -p "$d"
    ( cd "$d" && timeout 120 strace -f -qq -o "$d/trace" \
        -e trace=open,openat,openat2,creat,pipe,pipe2,socket,socketpair,dup,dup2,dup3,eventfd2,memfd_create,accept4,clone,clone3 \
        env LD_PRELOAD="$shim" AIO_SHIM_STATS="$d/stats" "$bin/fd_inflight" > "$d/out" 2> "$d/err" )
    local main others clones ok=0
    main=$(awk 'NR == 1 { print $1 }' "$d/trace")
    # other threads' lines, leaving out thread creation and strace's
    # "resumed"/exit/signal lines
    others=$(awk -v m="$main" '$1 != m && $2 !~ /^(\+\+\+|---|<\.\.\.|clone)/' "$d/trace" | head -5)
    clones=$(grep -c ' clone3\?(' "$d/trace")
    [ -z "$others" ] || { ok=1; note "fds opened by threads other than the program's:"; printf '%s\n' "$others" >> "$DET"; }
    [ "$clones" -ge 2 ] || { ok=1; note "the shim started $clones threads (test proves nothing)"; }
    check_stats "$d/stats" "pool>0" "uring>0" || ok=1
    if grep -q ': 0$' "$d/out"; then ok=1; note "a scenario failed:"; grep ': 0$' "$d/out" | head -3 >> "$DET"; fi
    return $ok
}
case_kaio_waiters() {
    # waiters that reap kernel AIO completions themselves (backend/kaio.rs):
    # a handler's aio_suspend on the holder thread, cancelled holders,
    # many waiters and a poller, polling after a suspend
    ab kaio_waiters 60 "kaio>0" "kaio_waiter_reaped>0" -- "$bin/kaio_waiters" .
}
case_fd_replaced_by_pipe_in_flight() {
    ab fd_kind_change 60 "kaio>0" -- "$bin/fd_kind_change" 32 1024
}
case_fd_replaced_by_pipe_idle() {
    # the O_DIRECT file's reads all done before the dup2: the shim knows the
    # fd number as an O_DIRECT file from its F_GETFL flags alone (route.rs
    # known_direct), and a pipe's flags must never pass for them
    ab fd_kind_change_idle 60 "kaio>0" -- "$bin/fd_kind_change" 32 1024 idle
}
case_fd_replaced_by_pipe_buffered() {
    # the same on a buffered file (its reads on workers after page-cache
    # misses): the shim keeps the fd's cached kind without a statx per
    # request there (fdq.rs), and the new read must still leave at once
    ab fd_kind_change_buf 60 "pool>0" "fallback_would_block>0" -- "$bin/fd_kind_change" 32 1024 buffered
}
case_fd_replaced_by_pipe_ring_full() {
    # the same with the kernel ring full (AIO_SHIM_MAXEVENTS=1): the earlier
    # reads wait in user space and are submitted later, on the pipe
    SHIM_ENV=(AIO_SHIM_MAXEVENTS=1)
    ab fd_kind_change_ring 60 "kaio>0" "kaio_ring_full>0" -- "$bin/fd_kind_change" 32 1024
    local r=$?
    SHIM_ENV=()
    return $r
}
case_daemon_close_all_fds() {
    ab daemon_close 60 "kaio>0" "pool+uring>0" "lio_calls>0" -- "$bin/daemon_close"
}

# ------------------------------------------------------------------ 4. aio-max-nr
# fs.aio-max-nr lowered to the current fs.aio-nr: every io_setup fails with
# EAGAIN. Restored at once (and by the trap).
lower_aio_max_nr() {
    need_root || return 1
    [ -w /proc/sys/fs/aio-max-nr ] || { fail "/proc/sys/fs/aio-max-nr not writable"; return 1; }
    sysctl_saved=$(cat /proc/sys/fs/aio-max-nr)
    cat /proc/sys/fs/aio-nr > /proc/sys/fs/aio-max-nr || { sysctl_saved=; fail "cannot lower aio-max-nr"; return 1; }
}
restore_aio_max_nr() {
    [ -n "$sysctl_saved" ] && echo "$sysctl_saved" > /proc/sys/fs/aio-max-nr
    sysctl_saved=
}
case_aio_max_nr_exhausted() {
    lower_aio_max_nr || return 1
    ab aio_max_nr 60 "fallback_io_setup>0" "kaio==0" "completed>=512" "errors==0" -- "$bin/direct_rw"
    local r=$?
    restore_aio_max_nr
    return $r
}
case_aio_max_nr_exhausted_fork() {
    # glibc's forked child hangs (its parent's idle helper threads are gone):
    # expected behaviour, parent and child both served by the pool
    lower_aio_max_nr || return 1
    expect aio_max_nr_fork 60 "parent: 256 writes and 256 reads of 4 KiB, 64 in flight: results ok=1 content ok=1
child: 256 writes and 256 reads of 4 KiB, 64 in flight: results ok=1 content ok=1
child exit status: 0
parent again: 256 writes and 256 reads of 4 KiB, 64 in flight: results ok=1 content ok=1" \
        "fallback_io_setup>0" "kaio==0" "errors==0" -- "$bin/direct_rw" fork
    local r=$?
    restore_aio_max_nr
    local s=$work/aio_max_nr_fork.shim/stats
    [ "$(stat_lines "$s")" -ge 2 ] || { note "expected stats from parent and child: $(stat_lines "$s") lines"; r=1; }
    return $r
}

# kernel.io_uring_disabled=2 (io_uring_setup fails with EPERM): pipes and
# sockets that io_uring would serve go to the worker pool.
case_io_uring_disabled() {
    need_root || return 1
    [ -w /proc/sys/kernel/io_uring_disabled ] || { fail "/proc/sys/kernel/io_uring_disabled not writable"; return 1; }
    uring_saved=$(cat /proc/sys/kernel/io_uring_disabled)
    echo 2 > /proc/sys/kernel/io_uring_disabled || { uring_saved=; fail "cannot set io_uring_disabled"; return 1; }
    ab uring_disabled 60 "uring==0" "pool>0" "kaio>0" "errors==0" -- "$bin/daemon_close"
    local r=$?
    echo "$uring_saved" > /proc/sys/kernel/io_uring_disabled
    uring_saved=
    return $r
}

# ------------------------------------------------------------------ 5. RLIMIT_NPROC
nproc_field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1/err" | tail -1; }
case_nproc_sigev_thread() {
    need_root || return 1
    command -v setpriv >/dev/null || { fail "setpriv not installed"; return 1; }
    local g=$work/nproc.glibc s=$work/nproc.shim ok=0
    run glibc-nobody "$g" 90 "$bin/nproc" 2
    run shim-nobody "$s" 90 "$bin/nproc" 2
    clean_run "$g" glibc || ok=1
    clean_run "$s" shim || ok=1
    for d in "$g" "$s"; do
        [ "$(cat "$d/rc")" = 0 ] || { note "$(basename "$d"): exit $(rc_note "$(cat "$d/rc")")"; ok=1; }
    done
    diff -u --label glibc --label shim "$g/out" "$s/out" >> "$DET" || ok=1
    local sub cbs nf
    sub=$(nproc_field "$s" submitted); cbs=$(nproc_field "$s" callbacks); nf=$(stat_sum "$s/stats" notify_failed)
    if [ -z "$sub" ] || [ $((cbs + nf)) -ne "$sub" ]; then
        note "shim: $sub requests notified: $cbs callbacks ran + $nf counted in notify_failed (must add up)"; ok=1
    fi
    check_stats "$s/stats" "completed>=48" || ok=1
    echo "  (glibc: $(tail -1 "$g/err"); shim: $(tail -1 "$s/err") notify_failed=$nf)"
    [ $ok = 0 ] || { show_run "$g" glibc; show_run "$s" shim; }
    return $ok
}
case_nproc_requests_vs_glibc() {
    # the same run: the shim must not fail requests that glibc completes
    # with the same thread budget
    local g=$work/nproc.glibc s=$work/nproc.shim
    if [ ! -f "$s/err" ] || [ ! -f "$g/err" ]; then
        case_nproc_sigev_thread > /dev/null || true
    fi
    local ge se gr sr
    ge=$(nproc_field "$g" eagain); se=$(nproc_field "$s" eagain)
    gr=$(nproc_field "$g" refused); sr=$(nproc_field "$s" refused)
    [ -n "$ge" ] && [ -n "$se" ] || { fail "no counts from the nproc runs"; return 1; }
    if [ "$se" -gt "$ge" ]; then
        note "RLIMIT_NPROC = threads of the user + 2: glibc completed every request (refused=$gr, EAGAIN=$ge);"
        note "the shim accepted them all (aio_read returned 0) and then failed $se with EAGAIN through aio_error"
        note "glibc: $(tail -1 "$g/err")"
        note "shim:  $(tail -1 "$s/err")"
        return 1
    fi
    return 0
}

# ------------------------------------------------------------------ 6. cancellation, signal storms
case_suspend_pthread_cancel() {
    ab suspend_cancel 60 "suspend_calls>=300" -- "$bin/suspend_cancel"
}
case_signal_storm_restart_suspend() { ab storm_rs 60 "suspend_calls>0" "pool+uring>=120" -- "$bin/signal_storm" restart suspend; }
case_signal_storm_norestart_suspend() { ab storm_ns 60 "suspend_calls>0" "pool+uring>=120" -- "$bin/signal_storm" norestart suspend; }
case_signal_storm_restart_lio() { ab storm_rl 60 "lio_calls>=30" "pool+uring>=120" -- "$bin/signal_storm" restart lio; }
case_signal_storm_norestart_lio() {
    # glibc crashes here (its LIO_WAIT wait list stays linked after EINTR)
    expect storm_nl 60 "norestart lio: rounds with every request's data correct: 30/30
unexpected return values: 0
EINTR seen: yes" "lio_calls>=30" "pool+uring>=120" -- "$bin/signal_storm" norestart lio
}

# ------------------------------------------------------------------ 7. fork, exec
case_fork_heavy_fresh_fd() {
    # glibc: the children's AIO hangs (their parent's helper threads are gone)
    expect fork_fresh 90 "children (fresh fd): ok=12 hung=0 failed=0
parent O_DIRECT reads all completed with the right data: 1
parent buffered writes/reads all right: 1" "kaio>1000" "pool+nowait>0" "errors==0" -- "$bin/fork_heavy" fresh
}
case_fork_heavy_same_fd() {
    expect fork_same 90 "children (same fd): ok=12 hung=0 failed=0
parent O_DIRECT reads all completed with the right data: 1
parent buffered writes/reads all right: 1" "kaio>1000" "pool+nowait>0" "errors==0" -- "$bin/fork_heavy" samefd
}
case_exec_no_fd_leak() {
    ab exec_fds 60 "kaio>0" "pool+uring>0" -- "$bin/exec_fds"
}

# ------------------------------------------------------------------ 8. nothing lost across SIGKILL
durable_round() { # mode io dir delay_ms -> prints the checker line, returns its status
    local mode=$1 io=$2 d=$3 delay=$4 pid rc pre=()
    rm -rf "$d"; mkdir -p "$d"
    [ "$mode" = shim ] && pre=(env LD_PRELOAD="$shim" AIO_SHIM_LOG=debug)
    # the writer's own pid (exec all the way down), killed by that pid; it
    # stops writing after 16384 records and waits for the kill
    (cd "$d" && exec "${pre[@]}" env REL_WATCHDOG=0 "$bin/durable" write rec.dat log st "$io" 16384 \
        > out 2> err < /dev/null) &
    pid=$!
    sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    (cd "$d" && timeout 60 "$bin/durable" check rec.dat log st)
    rc=$?
    return $rc
}
durable() { # io
    local io=$1 ok=0 i line delay covered_any=0 proof
    RANDOM=$(( $(date +%s) % 32768 ))
    for i in 1 2 3 4 5; do
        delay=$((300 + RANDOM % 900))
        local d=$work/durable-$io-shim-$i
        line=$(durable_round shim "$io" "$d" "$delay")
        local r=$?
        note "shim round $i (SIGKILL after $delay ms): $line"
        [ $r = 0 ] || { ok=1; note "  LOST DATA (round dir $d)"; }
        [[ $line =~ covered=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] && covered_any=1
        proof=$(grep -h '^threads:' "$d/log")
        if [ "$io" = direct ]; then
            [[ $proof =~ aio-shim-kaio=1 ]] || { ok=1; note "  shim not proven: log says '$proof' (want aio-shim-kaio=1)"; }
        else
            [[ $proof =~ aio-shim-pool=[1-9] ]] || [[ $proof =~ aio-shim-uring=[1-9] ]] ||
                { ok=1; note "  shim not proven: log says '$proof' (want aio-shim-pool or aio-shim-uring > 0)"; }
        fi
        grep -q 'aio_shim: pid [0-9]*: engine started' "$d/err" || { ok=1; note "  no 'engine started' line from the shim"; }
    done
    delay=$((300 + RANDOM % 900))
    line=$(durable_round glibc "$io" "$work/durable-$io-glibc" "$delay")
    [ $? = 0 ] || { ok=1; note "glibc round LOST DATA (the test is wrong?)"; }
    note "glibc round (SIGKILL after $delay ms): $line"
    [ $covered_any = 1 ] || { ok=1; note "no round got as far as a completed fsync: the test proved nothing"; }
    [ $ok = 0 ] && echo "  ($(grep -c 'shim round' "$DET") shim rounds killed at random, nothing lost; last: $(grep 'shim round 5' "$DET" | sed 's/.*: //'))"
    return $ok
}
case_durable_sigkill_buffered() { durable buffered; }
case_durable_sigkill_direct() { durable direct; }

# ------------------------------------------------------------------ 9. soak
case_soak() {
    local g=$work/soak/glibc s=$work/soak/shim ok=0
    mkdir -p "$work/soak"
    run glibc "$g" 90 env REL_WATCHDOG=80 "$bin/soak" 2 6
    SHIM_ENV=(REL_WATCHDOG=$((soak + 90)))
    run shim "$s" $((soak + 120)) "$bin/soak" "$soak" 6
    SHIM_ENV=()
    clean_run "$g" glibc || { ok=1; note "(the soak fails under glibc: test bug?)"; }
    clean_run "$s" shim || ok=1
    diff -u --label glibc --label shim "$g/out" "$s/out" >> "$DET" || ok=1
    for d in "$g" "$s"; do
        [ "$(cat "$d/rc")" = 0 ] || { note "$(basename "$d"): exit $(rc_note "$(cat "$d/rc")")"; ok=1; }
    done
    check_stats "$s/stats" "kaio>0" "pool+uring>0" "cancelled>0" "lio_calls>0" "suspend_calls>0" "errors==0" || ok=1
    echo "  (shim, $soak s: $(cat "$s/err" | grep '^ops=' | head -1))"
    [ $ok = 0 ] || { show_run "$g" glibc; show_run "$s" shim; }
    return $ok
}

# ------------------------------------------------------------------ 10. security
case_secure_exec_ignores_settings() {
    need_root || return 1
    local d=$work/secure ok=0 v
    rm -rf "$d"; mkdir -p "$d"; chmod 1777 "$d"
    # the program is linked against a copy of the shim (absolute DT_NEEDED):
    # a setuid program ignores LD_PRELOAD paths, not its own dependencies
    cp "$shim" "$d/libaio_shim.so"
    cp "$(dirname "$shim")/libaio_shim_engine.so" "$d/"
    if ! $CC $CFLAGS -o "$d/plain" "$here/c/sec_secure.c" -Wl,--no-as-needed "$d/libaio_shim.so" -lrt > "$d/cc.log" 2>&1; then
        note "cannot build:"; cat "$d/cc.log" >> "$DET"; return 1
    fi
    cp "$d/plain" "$d/suid"
    chown $NOBODY_UID:$NOBODY_GID "$d/suid" && chmod 4755 "$d/suid" || { fail "cannot make the setuid copy"; return 1; }
    for v in plain suid; do
        # setuid only: an engine path the stub must ignore too (a plain run
        # would fall back to glibc and fail the checks below)
        local eng=AIO_SHIM_NOTHING=
        [ $v = suid ] && eng=AIO_SHIM_ENGINE=/nonexistent/libaio_shim_engine.so
        (cd "$d" && timeout 60 env AIO_SHIM_BACKEND=pool AIO_SHIM_THREADS=1 AIO_SHIM_STATS="$d/stats.$v" \
            AIO_SHIM_LOG=debug AIO_SHIM_MAXEVENTS=1 "$eng" "./$v" > "out.$v" 2> "err.$v" < /dev/null)
        echo $? > "$d/rc.$v"
    done
    # plain: every setting honoured (the test would notice them)
    grep -qx 'AT_SECURE=0' "$d/out.plain" || { ok=1; note "plain run: AT_SECURE is not 0"; }
    grep -qx 'kernel AIO thread: 0' "$d/out.plain" || { ok=1; note "plain run: BACKEND=pool not honoured?"; }
    grep -qx 'worker threads with 4 reads blocked on 4 pipes: 1' "$d/out.plain" || { ok=1; note "plain run: THREADS=1 not honoured?"; }
    [ -s "$d/stats.plain" ] || { ok=1; note "plain run: no stats file"; }
    grep -q '^aio_shim:' "$d/err.plain" || { ok=1; note "plain run: no debug log"; }
    # setuid: every setting ignored
    grep -qx 'AT_SECURE=1' "$d/out.suid" || { ok=1; note "setuid run: AT_SECURE is not 1 (cannot test secure execution)"; }
    grep -qx 'O_DIRECT aio_read: 0 4096 ok=1' "$d/out.suid" || { ok=1; note "setuid run: the read failed"; }
    grep -qx 'kernel AIO thread: 1' "$d/out.suid" || { ok=1; note "setuid run: no kernel AIO thread: AIO_SHIM_BACKEND=pool was honoured (or the shim is not there)"; }
    # 4 reads blocked on 4 pipes: 4 worker threads (or 0 when io_uring
    # waits for pipes), never exactly the 1 that AIO_SHIM_THREADS=1 allows
    ! grep -qx 'worker threads with 4 reads blocked on 4 pipes: 1' "$d/out.suid" || { ok=1; note "setuid run: AIO_SHIM_THREADS=1 was honoured"; }
    [ ! -e "$d/stats.suid" ] || { ok=1; note "setuid run: AIO_SHIM_STATS was honoured (file created)"; }
    ! grep -q 'aio_shim' "$d/err.suid" || { ok=1; note "setuid run: AIO_SHIM_LOG was honoured:"; head -3 "$d/err.suid" >> "$DET"; }
    for v in plain suid; do
        [ "$(cat "$d/rc.$v")" = 0 ] || { ok=1; note "$v run: exit $(rc_note "$(cat "$d/rc.$v")")"; }
        clean_run_file "$d/out.$v" "$v" || ok=1
    done
    [ $ok = 0 ] || for v in plain suid; do note "--- $v:"; sed 's/^/  | /' "$d/out.$v" "$d/err.$v" >> "$DET"; done
    return $ok
}
clean_run_file() {
    if grep -qE '^(BAD|FATAL|WATCHDOG)' "$1"; then note "$2 reported:"; grep -E '^(BAD|FATAL|WATCHDOG)' "$1" >> "$DET"; return 1; fi
}
case_stats_symlink_not_followed() {
    local d=$work/statslink ok=0
    rm -rf "$d"; mkdir -p "$d"
    echo victim > "$d/victim"
    ln -s "$d/nonexistent" "$d/dangling"
    ln -s "$d/victim" "$d/tovictim"
    for l in dangling tovictim; do
        (cd "$d" && timeout 60 env LD_PRELOAD="$shim" AIO_SHIM_STATS="$d/$l" AIO_SHIM_LOG=warn "$bin/direct_rw" \
            > "out.$l" 2> "err.$l" < /dev/null) 2>/dev/null
        echo $? > "$d/rc.$l"
        [ "$(cat "$d/rc.$l")" = 0 ] || { ok=1; note "$l: exit $(rc_note "$(cat "$d/rc.$l")")"; }
        [ -L "$d/$l" ] || { ok=1; note "$l: the symlink was replaced"; }
        grep -q 'aio_shim: cannot open the stats file' "$d/err.$l" || { ok=1; note "$l: no warning from the shim (shim not proven)"; }
    done
    [ ! -e "$d/nonexistent" ] || { ok=1; note "the stats file was created through a dangling symlink"; }
    [ "$(cat "$d/victim")" = victim ] || { ok=1; note "the file behind the symlink was written: $(head -c 200 "$d/victim")"; }
    return $ok
}
case_stats_file_mode_0600() {
    local d=$work/statsmode ok=0 m
    rm -rf "$d"; mkdir -p "$d"
    (cd "$d" && umask 000 && timeout 60 env LD_PRELOAD="$shim" AIO_SHIM_STATS="$d/stats" "$bin/direct_rw" > out 2> err < /dev/null)
    m=$(stat -c %a "$d/stats" 2>/dev/null)
    [ "$m" = 600 ] || { ok=1; note "stats file mode ${m:-missing} under umask 000 (want 600)"; }
    check_stats "$d/stats" "completed>0" || ok=1
    return $ok
}
case_stats_path_fifo() {
    # AIO_SHIM_STATS names a FIFO (anyone who can create that path can
    # make one): the process must still exit (glibc: no such setting)
    local d=$work/statsfifo ok=0
    rm -rf "$d"; mkdir -p "$d"
    mkfifo "$d/stats"
    run glibc "$d/glibc" 20 "$bin/direct_rw"
    (cd "$d" && timeout -k 2 10 env LD_PRELOAD="$shim" AIO_SHIM_STATS="$d/stats" "$bin/direct_rw" > out 2> err < /dev/null) 2>/dev/null
    local rc=$?
    if [ "$rc" != "$(cat "$d/glibc/rc")" ]; then
        ok=1
        note "AIO_SHIM_STATS=$d/stats (a FIFO nobody reads): shim exit $(rc_note $rc), glibc $(rc_note "$(cat "$d/glibc/rc")")"
        [ "$rc" = 124 ] && note "the process never exits: the stats file is opened without O_NONBLOCK at exit and blocks"
    fi
    cmp -s "$d/out" "$d/glibc/out" || { ok=1; note "stdout differs from glibc's"; }
    return $ok
}
case_signals_untouched_stdout_clean() {
    SHIM_ENV=(AIO_SHIM_LOG=debug)
    ab sec_signals 60 "kaio>0" "pool+uring>0" "lio_calls>0" -- "$bin/sec_signals"
    local r=$?
    SHIM_ENV=()
    grep -q '^aio_shim:' "$work/sec_signals.shim/err" || { note "no debug log on stderr: was it written to stdout?"; r=1; }
    return $r
}
case_no_aio_no_thread_no_fd() {
    local g=$work/noaio.glibc s=$work/noaio.shim ok=0
    SHIM_ENV=(AIO_SHIM_LOG=debug)
    run glibc "$g" 30 "$bin/sec_noaio"
    run shim "$s" 30 "$bin/sec_noaio"
    SHIM_ENV=()
    diff -u --label glibc --label shim "$g/out" "$s/out" >> "$DET" || ok=1
    grep -q 'threads=1 ' "$s/out" || { ok=1; note "not exactly one thread"; }
    [ ! -s "$s/err" ] || { ok=1; note "the shim wrote to stderr:"; head -3 "$s/err" >> "$DET"; }
    [ ! -e "$s/stats" ] || { ok=1; note "a stats file was written by a process that never called AIO"; }
    [ "$(cat "$s/rc")" = 0 ] || { ok=1; note "exit $(rc_note "$(cat "$s/rc")")"; }
    # prove the preload is in effect for this kind of process
    local mapped
    mapped=$(env LD_PRELOAD="$shim" grep -cF -- "$(realpath "$shim")" /proc/self/maps)
    [ "${mapped:-0}" -gt 0 ] || { ok=1; note "LD_PRELOAD did not map the shim (test proves nothing)"; }
    return $ok
}

# ------------------------------------------------------------------ 11. FUSE: EIO; a write held in the filesystem
mnt_fuse=$base/mnt-fuse
mount_fuse() {
    [ -n "$fuse_pid" ] && mountpoint -q "$mnt_fuse" && return 0
    need_root || return 1
    [ -x "$bin/fusefs" ] || { fail "fusefs not built (apt-get install -y libfuse3-dev fuse3)"; return 1; }
    [ -c /dev/fuse ] || { fail "no /dev/fuse"; return 1; }
    mkdir -p "$mnt_fuse"
    "$bin/fusefs" -f -s "$mnt_fuse" > "$base/fusefs.log" 2>&1 &
    fuse_pid=$!
    local i
    for i in $(seq 100); do mountpoint -q "$mnt_fuse" && return 0; sleep 0.05; done
    fail "the FUSE filesystem did not mount: $(head -3 "$base/fusefs.log")"
}
eio() { # mode
    mount_fuse || return 1
    local exprs=("errors>=3")
    [ "$1" = odirect ] && exprs+=("kaio>0") || exprs+=("pool+nowait>0")
    ab "eio_$1" 60 "${exprs[@]}" -- "$bin/eio" "$mnt_fuse" "$1"
}
case_eio_fuse_buffered() { eio buffered; }
case_eio_fuse_odirect() { eio odirect; }
case_eio_fuse_direct_io() { eio fusedirect; }
# An O_APPEND write (held a second in the filesystem) holds its fd: a read
# and a second append submitted after it are still cancellable.
case_append_queued_fuse() {
    mount_fuse || return 1
    ab append_queued 60 "cancelled>=2" "pool>=1" -- "$bin/append_queued" "$mnt_fuse"
}

# ------------------------------------------------------------------ main
echo "shim: $shim"
start=$(date +%s)
[ $build_failed = 0 ] || { failed=$((failed + 1)); failures+=("build"); echo "FAIL build"; }
for c in "${all_cases[@]}"; do
    matches "$c" || continue
    DET=$(mktemp)
    t0=$(date +%s)
    if "case_$c"; then
        passed=$((passed + 1))
        echo "PASS $c ($(( $(date +%s) - t0 )) s)"
    else
        failed=$((failed + 1))
        failures+=("$c")
        echo "FAIL $c ($(( $(date +%s) - t0 )) s)"
        sed 's/^/    /' "$DET"
    fi
    rm -f "$DET"
done
cleanup
if [ $keep = 0 ] && [ $failed = 0 ]; then rm -rf "$work"; fi
echo "elapsed: $(( $(date +%s) - start )) s"
if [ $failed -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
