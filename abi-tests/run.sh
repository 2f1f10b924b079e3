#!/usr/bin/env bash
# A/B behaviour tests: glibc's POSIX AIO against libaio_shim.so.
#
# usage: abi-tests/run.sh [--shim PATH] [--glibc-only] [--repeat N] [--jobs N]
#                         [--keep] [FILTER...]
#
#   Builds every abi-tests/cases/*.c twice into abi-tests/build/ (plain, and
#   with -D_FILE_OFFSET_BITS=64 so the *64 entry points are called), then for
#   each binary runs it without the shim and with LD_PRELOAD=$SHIM, each under
#   `timeout 60`, in a scratch directory on a real disk (target/abi-work/),
#   and compares stdout and exit status.  A case with a line `// EXPECT-FILE`
#   is compared with abi-tests/expected/NAME.out instead of glibc (glibc is
#   known wrong there).  Under the shim, AIO_SHIM_STATS must name a file the
#   shim wrote with "calls":N > 0 (else: FAIL "shim not loaded"); lines
#   `// EXPECT-STAT key>N` (also >=, ==, <, <=; summed over the stats lines)
#   are checked too (under AIO_SHIM_BACKEND=pool, `kaio`, `nowait` and
#   `fallback_signal` are checked as `fallback_backend_setting`: what they
#   would have served; under AIO_SHIM_BACKEND=uring, `kaio` is checked as
#   `uring`; under AIO_SHIM_DIRECT=1, `nowait` and `fallback_signal` are
#   checked as `twin`; `kaio_*` keys are
#   not checked under pool or uring).  Also runs check_exports.sh and check_resolve.sh.
#
#   --shim PATH    the library (default: target/release/libaio_shim.so)
#   --glibc-only   no shim: run each binary under glibc --repeat times
#                  (default 2) and check that the transcripts are identical
#   --repeat N     runs per binary in --glibc-only mode
#   --jobs N       cases run in parallel (default 1; timing-sensitive cases
#                  are robust to load, but 1 is the reference)
#   --keep         keep the scratch directories of passing runs
#   FILTER         only cases whose name contains one of the FILTERs
#
# Prints PASS/FAIL per case and variant, a unified diff on a difference, and
# finally exactly "N passed, N failed"; exits 1 if anything failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shim=$root/target/release/libaio_shim.so
glibc_only=0
repeat=2
jobs=1
keep=0
filters=()
while [ $# -gt 0 ]; do
    case $1 in
        --shim) shim=$2; shift 2 ;;
        --shim=*) shim=${1#--shim=}; shift ;;
        --glibc-only) glibc_only=1; shift ;;
        --repeat) repeat=$2; shift 2 ;;
        --jobs|-j) jobs=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) filters+=("$1"); shift ;;
    esac
done
case $shim in /*) ;; *) shim=$(pwd)/$shim ;; esac

cases_dir=$here/cases
build=$here/build
work=$root/target/abi-work
expected_dir=$here/expected
CC=${CC:-gcc}
CFLAGS_BASE="-O1 -g -Wall -pthread"

matches() {
    [ ${#filters[@]} -eq 0 ] && return 0
    local f
    for f in "${filters[@]}"; do
        [[ $1 == *"$f"* ]] && return 0
    done
    return 1
}

names=()
for src in "$cases_dir"/*.c; do
    n=$(basename "$src" .c)
    matches "$n" && names+=("$n")
done

mkdir -p "$build" "$work"

# ---------------------------------------------------------------- build
# variant "plain" -> build/NAME, variant "fob64" -> build/NAME.fob64
build_one() { # name variant
    local n=$1 v=$2 src=$cases_dir/$1.c out extra=""
    if [ "$v" = fob64 ]; then out=$build/$n.fob64; extra="-D_FILE_OFFSET_BITS=64"; else out=$build/$n; fi
    if [ -x "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$cases_dir/common.h" ] &&
       [ "$out" -nt "$here/run.sh" ]; then
        return 0
    fi
    rm -f "$out" "$out.log"
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS_BASE $extra -o "$out" "$src" -lrt > "$out.log" 2>&1; then
        return 1
    fi
    [ -s "$out.log" ] || rm -f "$out.log"
    return 0
}
export -f build_one
export build cases_dir here CC CFLAGS_BASE

if [ ${#names[@]} -gt 0 ]; then
    for n in "${names[@]}"; do printf '%s plain\n%s fob64\n' "$n" "$n"; done |
        xargs -P "$(nproc)" -n 2 bash -c 'build_one "$0" "$1" || echo "build failed: $0 $1" >&2'
fi

# ---------------------------------------------------------------- helpers
passed=0
failed=0
failures=()

has_marker() { grep -qE "^[[:space:]]*//[[:space:]]*$2([[:space:]]|\$)" "$cases_dir/$1.c"; }

stat_exprs() { # name -> lines like "kaio>0"
    sed -n 's|^[[:space:]]*//[[:space:]]*EXPECT-STAT[[:space:]]*||p' "$cases_dir/$1.c" | tr ' ' '\n' | grep -v '^$'
}

# sum of "key":N over all lines of a stats file
stat_sum() { # file key
    grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | awk -F: '{ s += $2 } END { print s + 0 }'
}
stat_max() {
    grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | awk -F: 'BEGIN { m = 0 } { if ($2 > m) m = $2 } END { print m }'
}

# run_bin BIN DIR MODE(glibc|shim) -> DIR/out DIR/err DIR/rc [DIR/stats]
run_bin() {
    local bin=$1 dir=$2 mode=$3 rc
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$mode" = shim ]; then
        (cd "$dir" && timeout 60 env LD_PRELOAD="$shim" AIO_SHIM_STATS="$dir/stats" "$bin" \
            > "$dir/out" 2> "$dir/err" < /dev/null) 2> /dev/null
        rc=$?
    else
        (cd "$dir" && timeout 60 env -u LD_PRELOAD -u AIO_SHIM_STATS "$bin" \
            > "$dir/out" 2> "$dir/err" < /dev/null) 2> /dev/null
        rc=$?
    fi
    echo "$rc" > "$dir/rc"
    return 0
}

report() { # status label [details-file]
    if [ "$1" = PASS ]; then
        passed=$((passed + 1))
        echo "PASS $2"
    else
        failed=$((failed + 1))
        failures+=("$2")
        echo "FAIL $2"
        [ $# -ge 3 ] && [ -s "$3" ] && sed 's/^/    /' "$3"
    fi
}

show_err() { # dir label -> appends stderr tail to details
    if [ -s "$1/err" ]; then
        echo "--- stderr ($2), last lines:"
        tail -n 15 "$1/err"
    fi
}

rc_note() {
    case $1 in
        124) echo "124 (timeout 60 s)" ;;
        0|1|2) echo "$1" ;;
        *) if [ "$1" -gt 128 ]; then echo "$1 (signal $(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128))))"; else echo "$1"; fi ;;
    esac
}

# ---------------------------------------------------------------- one case
# test_one NAME VARIANT -> prints PASS/FAIL lines into $2-specific result file
test_case() {
    local n=$1 v=$2 bin label details base expect_file=0 ok=1
    if [ "$v" = fob64 ]; then bin=$build/$n.fob64; label="$n [_FILE_OFFSET_BITS=64]"
    else bin=$build/$n; label="$n [plain]"; fi
    base=$work/$n.$v
    details=$(mktemp)
    has_marker "$n" EXPECT-FILE && expect_file=1

    if [ ! -x "$bin" ]; then
        { echo "build failed:"; cat "$bin.log" 2>/dev/null; } > "$details"
        report FAIL "$label" "$details"; rm -f "$details"; return
    fi
    if [ -s "$bin.log" ]; then
        { echo "compiler warnings:"; cat "$bin.log"; } > "$details"
        report FAIL "$label" "$details"; rm -f "$details"; return
    fi

    if [ $glibc_only = 1 ]; then
        local i ref="$base.glibc1" runs=$repeat
        # EXPECT-FILE: glibc is known wrong (and may be nondeterministic
        # there, e.g. lio_old): one informational run only
        [ $expect_file = 1 ] && runs=1
        run_bin "$bin" "$ref" glibc
        for ((i = 2; i <= runs; i++)); do
            run_bin "$bin" "$base.glibc$i" glibc
            if ! diff -u --label "glibc run 1" --label "glibc run $i" "$ref/out" "$base.glibc$i/out" >> "$details"; then
                ok=0; echo "(glibc is not deterministic for this case)" >> "$details"
            fi
            if [ "$(cat "$ref/rc")" != "$(cat "$base.glibc$i/rc")" ]; then
                ok=0; echo "exit status differs: $(cat "$ref/rc") vs $(cat "$base.glibc$i/rc")" >> "$details"
            fi
        done
        # (an EXPECT-FILE case may crash under glibc: glibc is known wrong there)
        if [ "$(cat "$ref/rc")" != 0 ] && [ $expect_file = 0 ]; then
            ok=0; echo "exit status $(rc_note "$(cat "$ref/rc")")" >> "$details"
            show_err "$ref" glibc >> "$details"
        fi
        if grep -qE '^(FATAL|WATCHDOG)' "$ref/out"; then
            ok=0; grep -E '^(FATAL|WATCHDOG)' "$ref/out" >> "$details"
        fi
        if [ $expect_file = 1 ]; then
            if [ ! -f "$expected_dir/$n.out" ]; then
                ok=0; echo "EXPECT-FILE but no $expected_dir/$n.out" >> "$details"
            elif cmp -s "$expected_dir/$n.out" "$ref/out" && [ "$(cat "$ref/rc")" = 0 ]; then
                label="$label (EXPECT-FILE; glibc matches expected)"
            else
                label="$label (EXPECT-FILE; glibc differs from expected (exit $(rc_note "$(cat "$ref/rc")")), as documented)"
            fi
        fi
        if [ $ok = 1 ]; then
            report PASS "$label"
            [ $keep = 1 ] || { for ((i = 1; i <= runs; i++)); do rm -rf "$base.glibc$i"; done; }
        else
            report FAIL "$label" "$details"
        fi
        rm -f "$details"
        return
    fi

    # A/B: reference = glibc (or the expected file), then the shim
    local ref_out ref_rc ref_name
    if [ $expect_file = 1 ]; then
        ref_out=$expected_dir/$n.out; ref_rc=0; ref_name="expected/$n.out"
        if [ ! -f "$ref_out" ]; then
            echo "EXPECT-FILE but no $ref_out" > "$details"
            report FAIL "$label" "$details"; rm -f "$details"; return
        fi
    else
        run_bin "$bin" "$base.glibc" glibc
        ref_out=$base.glibc/out; ref_rc=$(cat "$base.glibc/rc"); ref_name=glibc
        if grep -qE '^(FATAL|WATCHDOG)' "$ref_out" || [ "$ref_rc" != 0 ]; then
            { echo "the case itself failed under glibc (exit $(rc_note "$ref_rc")):"
              grep -E '^(FATAL|WATCHDOG)' "$ref_out"; show_err "$base.glibc" glibc; } >> "$details"
            ok=0
        fi
    fi
    run_bin "$bin" "$base.shim" shim
    local rc; rc=$(cat "$base.shim/rc")
    if ! diff -u --label "$ref_name" --label shim "$ref_out" "$base.shim/out" >> "$details"; then
        ok=0
    fi
    if [ "$rc" != "$ref_rc" ]; then
        ok=0
        echo "exit status: $ref_name $(rc_note "$ref_rc"), shim $(rc_note "$rc")" >> "$details"
    fi
    [ $ok = 1 ] || show_err "$base.shim" shim >> "$details"
    # stats: the shim must have been loaded and have served calls
    local stats=$base.shim/stats calls
    if [ ! -s "$stats" ]; then
        ok=0
        echo "shim not loaded: AIO_SHIM_STATS file $stats missing or empty" >> "$details"
    else
        calls=$(stat_max "$stats" calls)
        if [ "${calls:-0}" -le 0 ]; then
            ok=0
            echo "shim not loaded: no \"calls\":N with N > 0 in $stats:" >> "$details"
            sed 's/^/  /' "$stats" >> "$details"
        fi
        if ! head -n1 "$base.shim/out" | grep -q '^SKIP'; then
            local e key op val have
            while read -r e; do
                [ -n "$e" ] || continue
                if [[ $e =~ ^([A-Za-z_][A-Za-z0-9_]*)(>=|<=|==|>|<)([0-9]+)$ ]]; then
                    key=${BASH_REMATCH[1]}; op=${BASH_REMATCH[2]}; val=${BASH_REMATCH[3]}
                    # With AIO_SHIM_BACKEND=pool the requests kernel AIO would
                    # have served are counted as fallbacks forced by the setting.
                    # How kernel AIO reaped (kaio_*) only means something
                    # when kernel AIO serves.
                    if [[ $key =~ ^kaio_ ]] && [[ ${AIO_SHIM_BACKEND:-} =~ ^(pool|uring)$ ]]; then
                        continue
                    fi
                    if [[ $key =~ ^(kaio|nowait|fallback_signal)$ ]] && [ "${AIO_SHIM_BACKEND:-}" = pool ]; then
                        key=fallback_backend_setting
                    elif [ "$key" = kaio ] && [ "${AIO_SHIM_BACKEND:-}" = uring ]; then
                        key=uring
                    elif [[ $key =~ ^(nowait|fallback_signal)$ ]] && [ "${AIO_SHIM_DIRECT:-0}" = 1 ]; then
                        key=twin
                    fi
                    have=$(stat_sum "$stats" "$key")
                    if ! grep -q "\"$key\":" "$stats"; then
                        ok=0; echo "EXPECT-STAT $e: no \"$key\" in the stats" >> "$details"
                    elif ! awk -v a="$have" -v b="$val" -v op="$op" 'BEGIN {
                            r = (op == ">") ? a > b : (op == ">=") ? a >= b : (op == "==") ? a == b : (op == "<") ? a < b : a <= b
                            exit r ? 0 : 1 }'; then
                        ok=0; echo "EXPECT-STAT $e failed: $key = $have" >> "$details"
                    fi
                else
                    ok=0; echo "bad EXPECT-STAT expression: $e" >> "$details"
                fi
            done < <(stat_exprs "$n")
        fi
        [ $ok = 1 ] || { echo "--- stats:"; cat "$stats"; } >> "$details"
    fi
    if [ $ok = 1 ]; then
        report PASS "$label"
        [ $keep = 1 ] || rm -rf "$base.glibc" "$base.shim"
    else
        report FAIL "$label" "$details"
    fi
    rm -f "$details"
}

# ---------------------------------------------------------------- main
if [ $glibc_only = 0 ] && [ ! -f "$shim" ]; then
    echo "run.sh: shim not found: $shim (build it with 'cargo build --release', or pass --shim PATH)"
    echo "0 passed, $(( ${#names[@]} * 2 )) failed"
    exit 1
fi
[ $glibc_only = 1 ] && echo "mode: glibc only, $repeat runs per binary" || echo "mode: A/B, shim $shim"

start=$(date +%s)
if [ "$jobs" -le 1 ]; then
    for n in "${names[@]}"; do
        test_case "$n" plain
        test_case "$n" fob64
    done
else
    # run in parallel; each job prints its own block, collected in order
    outdir=$(mktemp -d)
    export -f test_case run_bin report show_err rc_note has_marker stat_exprs stat_sum stat_max
    export glibc_only repeat keep shim work expected_dir
    i=0
    for n in "${names[@]}"; do
        for v in plain fob64; do
            printf '%s %s %05d\n' "$n" "$v" "$i"; i=$((i + 1))
        done
    done | xargs -P "$jobs" -n 3 bash -c '
        passed=0; failed=0; failures=()
        test_case "$0" "$1" > "'"$outdir"'/$2" 2>&1'
    for f in "$outdir"/*; do
        [ -f "$f" ] || continue
        cat "$f"
        passed=$((passed + $(grep -c '^PASS ' "$f")))
        c=$(grep -c '^FAIL ' "$f"); failed=$((failed + c))
        [ "$c" -gt 0 ] && failures+=("$(sed -n 's/^FAIL //p' "$f")")
    done
    rm -rf "$outdir"
fi

if [ $glibc_only = 0 ] && matches check_exports; then
    d=$(mktemp)
    if "$here/check_exports.sh" --shim "$shim" > "$d" 2>&1; then report PASS "check_exports"
    else report FAIL "check_exports" "$d"; fi
    rm -f "$d"
fi
if [ $glibc_only = 0 ] && matches check_resolve; then
    d=$(mktemp)
    if "$here/check_resolve.sh" --shim "$shim" > "$d" 2>&1; then report PASS "check_resolve"
    else report FAIL "check_resolve" "$d"; fi
    rm -f "$d"
fi

echo "elapsed: $(( $(date +%s) - start )) s"
if [ $failed -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
