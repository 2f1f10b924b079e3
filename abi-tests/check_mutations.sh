#!/usr/bin/env bash
# Mutation check: do the test suites catch deliberately introduced
# differences?  Each abi-tests/mutations/NAME.patch is a small unified diff
# (applied with `patch -p1`) that breaks one thing: an errno, a signal, a
# struct layout, an exported symbol, a timeout, a route.  Its header names
# the suites that must catch it:
#
#   Caught-by: run [VAR=VALUE...] CASE...
#                            abi-tests/run.sh --shim MUTANT.so CASE... fails
#                            (run with those environment variables)
#   Caught-by: layout        cargo test --release --test layout fails
#                            (a compile error counts: that command fails)
#   Caught-by: exports       abi-tests/check_exports.sh --shim MUTANT.so fails
#   Caught-by: resolve       abi-tests/check_resolve.sh --shim MUTANT.so fails
#   Caught-by: stub          abi-tests/check_stub.sh --shim MUTANT.so fails
#   Caught-by: reliability CASE...
#                            abi-tests/reliability/run.sh --shim MUTANT.so
#                            CASE... fails (needs root, as that suite does)
#   Caught-by: loom          cargo test --release -p loom-models fails (the
#                            loom models of src/protocol.rs and src/slots.rs)
#
# usage: abi-tests/check_mutations.sh [--jobs N] [--no-baseline] [--head]
#                                     [MUTANT...]
#
#   The working tree (without target/, .git, abi-tests/build) is copied once
#   into target/mutants/snapshot (--head: `git archive HEAD` instead), then
#   per mutant into target/mutants/NAME/src-tree, patched there and built
#   with CARGO_TARGET_DIR=target/mutants/cargo-target (shared: dependencies
#   are built once).  Only the suites the patch names run, against the
#   mutant's own library (target/mutants/NAME/libaio_shim.so); their logs
#   stay in target/mutants/NAME/.  First the unpatched snapshot ("baseline")
#   must pass all those suites, else a failure would prove nothing
#   (--no-baseline skips that).  The case binaries are built once, into
#   target/mutants/case-build (case-build-head with --head).
#
#   --jobs N        run.sh --jobs (default 2)
#   --no-baseline   do not check that the unpatched tree passes
#   --head          mutate the committed tree (git archive HEAD), not the
#                   working tree
#   MUTANT          only these: NAME (abi-tests/mutations/NAME.patch) or the
#                   path of a patch, e.g. one of mutations/known-survivors/
#                   (not caught, and not run by default: see README)
#
# Prints one line per mutant: "CAUGHT by SUITE (first failing case / line)"
# or "SURVIVED", then a table and the elapsed time.  Exit status: 0 if every
# mutant was caught, 1 if any survived, did not apply, did not build (when it
# must), or the baseline failed; 2 on a usage error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
jobs=2
baseline=1
from_head=0
only=()
while [ $# -gt 0 ]; do
    case $1 in
        --jobs|-j) jobs=$2; shift 2 ;;
        --no-baseline) baseline=0; shift ;;
        --head) from_head=1; shift ;;
        -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
        -*) echo "check_mutations: unknown option $1" >&2; exit 2 ;;
        *) only+=("${1%.patch}"); shift ;;
    esac
done

start=$(date +%s)
out=$root/target/mutants
export CARGO_TARGET_DIR=$out/cargo-target
cases_build=$out/case-build
[ $from_head = 1 ] && cases_build=$out/case-build-head
# The mutants must be judged under the default configuration.
unset LD_PRELOAD
for v in $(env | sed -n 's/^\(AIO_SHIM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
mkdir -p "$out" "$cases_build"

elapsed() { echo $(( $(date +%s) - start )); }
log() { printf '[%4ss] %s\n' "$(elapsed)" "$*"; }

# ---------------------------------------------------------------- mutants
patches=()
if [ ${#only[@]} -gt 0 ]; then
    for m in "${only[@]}"; do
        if [ -f "$m.patch" ] && [[ $m == */* ]]; then patches+=("$(cd "$(dirname "$m")" && pwd)/$(basename "$m").patch")
        elif [ -f "$here/mutations/$m.patch" ]; then patches+=("$here/mutations/$m.patch")
        else echo "check_mutations: no such mutant: $m (abi-tests/mutations/$m.patch)" >&2; exit 2; fi
    done
else
    for p in "$here"/mutations/*.patch; do [ -f "$p" ] && patches+=("$p"); done
fi
[ ${#patches[@]} -gt 0 ] || { echo "check_mutations: no patches in $here/mutations" >&2; exit 2; }

# suites_of PATCH -> its "Caught-by:" lines: "run [VAR=VALUE...] CASE...",
# "layout", "exports", "resolve"
suites_of() { sed -n 's/^Caught-by:[[:space:]]*//p' "$1" | sed 's/[[:space:]]*$//'; }
# the first sentence of its "Change:"
change_of() {
    sed -n '/^Change:/,/^Caught-by:/p' "$1" | sed '$d; s/^Change:[[:space:]]*//; s/^[[:space:]]*//' |
        tr '\n' ' ' | sed 's/\. .*/./; s/ *$//'
}
is_env() { [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; }

for p in "${patches[@]}"; do
    if [ -z "$(suites_of "$p")" ]; then
        echo "check_mutations: $(basename "$p"): no Caught-by: line" >&2; exit 2
    fi
    while read -r kind rest; do
        case $kind in
            run) ncases=0
                 for a in $rest; do is_env "$a" || ncases=$((ncases + 1)); done
                 [ $ncases -gt 0 ] || { echo "check_mutations: $(basename "$p"): 'run' needs case names" >&2; exit 2; } ;;
            layout|exports|resolve|loom|stub|reliability) ;;
            *) echo "check_mutations: $(basename "$p"): unknown suite '$kind'" >&2; exit 2 ;;
        esac
    done < <(suites_of "$p")
done

# ---------------------------------------------------------------- snapshot
snap=$out/snapshot
rm -rf "$snap"; mkdir -p "$snap"
if [ $from_head = 1 ]; then
    git -C "$root" archive --format=tar HEAD | tar -C "$snap" -xf - || { echo "check_mutations: git archive failed"; exit 1; }
    what="HEAD ($(git -C "$root" rev-parse --short HEAD))"
else
    tar -C "$root" --exclude=./target --exclude=./.git --exclude=./abi-tests/build -cf - . |
        tar -C "$snap" -xf - || { echo "check_mutations: copying the tree failed"; exit 1; }
    what="working tree"
fi
log "snapshot of the $what in $snap; ${#patches[@]} mutants; CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

# make_tree DIR: a fresh copy of the snapshot.  Every file but the cases gets
# a new mtime: the mutants share one target dir, and cargo decides freshness
# by mtime, so a file restored to its unpatched content must look newer than
# the previous mutant's build.  (abi-tests/ keeps its mtimes: run.sh rebuilds
# a case binary older than its source.)
make_tree() {
    rm -rf "$1"; mkdir -p "$1"
    cp -a "$snap/." "$1/" || return 1
    find "$1" -path "$1/abi-tests" -prune -o -type f -exec touch {} + || return 1
    rm -rf "$1/abi-tests/build"
    ln -s "$cases_build" "$1/abi-tests/build"
}

needs_so() { # PATCH|- (all suites) -> does any suite run under a built library?
    grep -qE '^(run|exports|resolve|stub|reliability)' <<< "$1"
}

# build_so TREE DIR -> DIR/libaio_shim.so (+ its engine), log DIR/build.log
build_so() {
    (cd "$1" && cargo build --release -p aio_shim) > "$2/build.log" 2>&1 || return 1
    cp "$CARGO_TARGET_DIR/release/libaio_shim.so" "$CARGO_TARGET_DIR/release/libaio_shim_engine.so" "$2/"
}

# run_suite TREE DIR KIND [ARGS...] -> 0 passed, 1 failed; DIR/why: the first
# failure in one line; DIR/lastlog: the log's path
run_suite() {
    local tree=$1 dir=$2 kind=$3; shift 3
    local so=$dir/libaio_shim.so logf
    case $kind in
        run)
            local envs=() cases=() a tag
            for a in "$@"; do if is_env "$a"; then envs+=("$a"); else cases+=("$a"); fi; done
            tag=$(printf '%s' "${envs[*]:-}" | tr -c 'A-Za-z0-9' '_')
            logf=$dir/run${tag:+.$tag}.log
            echo "$logf" > "$dir/lastlog"
            env ${envs[@]+"${envs[@]}"} "$tree/abi-tests/run.sh" --shim "$so" --jobs "$jobs" "${cases[@]}" > "$logf" 2>&1 &&
                return 0
            {
                local first n d
                first=$(sed -n 's/^FAIL //p' "$logf" | head -n1)
                n=$(grep -c '^FAIL ' "$logf")
                printf '%s' "${first:-run.sh failed (see $logf)}"
                [ "$n" -gt 1 ] && printf ' +%d more' $((n - 1))
                # what the first failure says: its first diff pair (glibc's
                # line, then the shim's), else its first check that failed
                d=$(awk '/^FAIL /{n++} n==1' "$logf" | awk '
                    /^    -[^-]/ && !m { m = substr($0, 5) }
                    /^    \+[^+]/ && !p { p = substr($0, 5) }
                    /^    (EXPECT-STAT|shim not loaded|exit status|build failed|WATCHDOG)/ && !o { o = substr($0, 5) }
                    END { if (m != "" || p != "") print m (m != "" && p != "" ? "  vs  " : "") p; else print o }')
                [ -n "$d" ] && printf ': %s' "$d"
                echo
            } > "$dir/why"
            return 1 ;;
        layout)
            logf=$dir/layout.log
            echo "$logf" > "$dir/lastlog"
            (cd "$tree" && cargo test --release -p aio-shim --test layout) > "$logf" 2>&1 && return 0
            {
                if grep -q '^error: could not compile' "$logf"; then
                    local msg loc
                    msg=$(grep -o "panicked at[^']*'[^']*'\|evaluation panicked: .*\|assertion failed: [^'\`]*" "$logf" | head -n1)
                    loc=$(grep -m1 -- '-->' "$logf" | sed 's/^ *--> *//')
                    echo "does not compile: ${msg:-$(grep -m1 '^error' "$logf")}${loc:+ ($loc)}"
                else
                    local t m
                    t=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$logf" | tr '\n' ' ' | sed 's/ *$//')
                    # shellcheck disable=SC2016
                    m=$(grep -o 'C says `[^`]*`, the Rust mirror says `[^`]*`' "$logf" | head -n1)
                    echo "${t:-cargo test failed}${m:+: $m}"
                fi
            } > "$dir/why"
            return 1 ;;
        loom)
            logf=$dir/loom.log
            echo "$logf" > "$dir/lastlog"
            (cd "$tree" && cargo test --release -p loom-models) > "$logf" 2>&1 && return 0
            {
                local t m
                t=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$logf" | tr '\n' ' ' | sed 's/ *$//')
                m=$(grep -m1 -o "^deadlock" "$logf" || grep -m1 -o "panicked at [^:]*:[0-9]*\|error\[E[0-9]*\]: .*" "$logf")
                echo "${t:-cargo test failed}${m:+: $m}"
            } > "$dir/why"
            return 1 ;;
        stub|reliability)
            logf=$dir/$kind.log
            echo "$logf" > "$dir/lastlog"
            local script=check_stub.sh
            [ "$kind" = reliability ] && script=reliability/run.sh
            "$tree/abi-tests/$script" --shim "$so" "$@" > "$logf" 2>&1 && return 0
            # the first failing check, else the log's last line
            { grep -m1 '^FAIL ' "$logf" || tail -n1 "$logf"; } | sed 's/^FAIL //' > "$dir/why"
            return 1 ;;
        exports|resolve)
            logf=$dir/$kind.log
            echo "$logf" > "$dir/lastlog"
            local script=check_exports.sh
            [ "$kind" = resolve ] && script=check_resolve.sh
            "$tree/abi-tests/$script" --shim "$so" > "$logf" 2>&1 && return 0
            {
                local d
                if [ "$kind" = exports ]; then
                    d=$(grep -E '^  [-+] ' "$logf" | head -n3 | sed 's/^  //' | tr '\n' ' ' | sed 's/ *$//')
                else
                    d=$(grep -E '^check_resolve: [^ ]+ [^ ]+ -> ' "$logf" | head -n2 | sed 's/^check_resolve: //' | tr '\n' ';' | sed 's/;$//; s/;/; /g')
                fi
                echo "${d:-$(tail -n1 "$logf")}"
            } > "$dir/why"
            return 1 ;;
    esac
}

suite_label() { # KIND [ARGS...] -> how it is reported
    local kind=$1 a pre=""; shift
    case $kind in
        run) for a in "$@"; do is_env "$a" && pre="$pre$a "; done; echo "${pre}run.sh" ;;
        layout) echo "cargo test --test layout" ;;
        loom) echo "loom models" ;;
        exports) echo "check_exports.sh" ;;
        resolve) echo "check_resolve.sh" ;;
        stub) echo "check_stub.sh" ;;
        reliability) echo "reliability/run.sh $*" ;;
    esac
}

# ---------------------------------------------------------------- baseline
# The union of the suites, on the unpatched tree: each must pass, or a
# mutant's failure there proves nothing.  run.sh runs once per distinct
# environment, with the union of the cases named with it.
bad_suites=" "  # layout/exports/resolve/loom failing on the baseline
bad_cases=" "   # "ENV|CASE" failing on the baseline (ENV: the VAR=VALUE words, joined by ',')
status=0
envkey() { local a k=""; for a in "$@"; do is_env "$a" && k="$k${k:+,}$a"; done; echo "$k"; }
failed_cases() { sed -n 's/^FAIL \([^ ]*\) .*/\1/p' "$1" | sort -u; }
if [ $baseline = 1 ]; then
    bdir=$out/baseline; btree=$bdir/src-tree
    mkdir -p "$bdir"; rm -f "$bdir"/*.log "$bdir/why" "$bdir/lastlog" "$bdir"/libaio_shim*.so
    make_tree "$btree" || { echo "check_mutations: cannot copy the snapshot"; exit 1; }
    all=$(for p in "${patches[@]}"; do suites_of "$p"; done)
    if needs_so "$all"; then
        log "baseline: building the unpatched library"
        if ! build_so "$btree" "$bdir"; then
            echo "BASELINE: the unpatched tree does not build (see $bdir/build.log):"
            grep -m5 '^error' -A5 "$bdir/build.log" | sed 's/^/    /'
            echo "elapsed: $(elapsed) s"
            exit 1
        fi
    fi
    declare -A run_union=()
    while read -r kind rest; do
        if [ "$kind" = run ]; then
            # shellcheck disable=SC2086
            k=_$(envkey $rest)   # (a key may not be empty)
            for a in $rest; do is_env "$a" || run_union[$k]="${run_union[$k]:-} $a"; done
        fi
    done <<< "$all"
    # shellcheck disable=SC2013
    for kind in $(awk '{print $1}' <<< "$all" | sort -u); do
        if [ "$kind" = run ]; then
            for k in "${!run_union[@]}"; do
                k=${k#_}
                args=$(tr ',' ' ' <<< "$k")
                args="$args $(tr ' ' '\n' <<< "${run_union[_$k]}" | grep -v '^$' | sort -u | tr '\n' ' ')"
                args=$(xargs <<< "$args")
                # shellcheck disable=SC2086
                log "baseline: $(suite_label run $args) $(tr ' ' '\n' <<< "$args" | grep -v = | xargs)"
                # shellcheck disable=SC2086
                if ! run_suite "$btree" "$bdir" run $args; then
                    for c in $(failed_cases "$(cat "$bdir/lastlog")"); do bad_cases="$bad_cases$k|$c "; done
                    echo "BASELINE FAILS $(suite_label run $args): $(cat "$bdir/why")  (log: $(cat "$bdir/lastlog"))"
                    status=1
                fi
            done
        else
            # reliability: the cases any patch names, together
            args=""
            [ "$kind" = reliability ] && args=$(awk '$1 == "reliability" { for (i = 2; i <= NF; i++) print $i }' <<< "$all" | sort -u | xargs)
            log "baseline: $(suite_label "$kind" $args)"
            # shellcheck disable=SC2086
            if ! run_suite "$btree" "$bdir" "$kind" $args; then
                bad_suites="$bad_suites$kind "
                echo "BASELINE FAILS $(suite_label "$kind"): $(cat "$bdir/why")  (log: $bdir/$kind.log)"
                status=1
            fi
        fi
    done
    [ $status = 0 ] && log "baseline: every suite passes on the unpatched tree"
fi

# ---------------------------------------------------------------- mutants
results=()   # "name|result|detail|patch"
for p in "${patches[@]}"; do
    name=$(basename "$p" .patch)
    mdir=$out/$name; tree=$mdir/src-tree
    mkdir -p "$mdir"; rm -f "$mdir"/*.log "$mdir/why" "$mdir/lastlog" "$mdir"/libaio_shim*.so
    suites=$(suites_of "$p")
    make_tree "$tree" || { echo "check_mutations: cannot copy the snapshot"; exit 1; }
    if ! (cd "$tree" && patch -p1 --forward --batch --no-backup-if-mismatch -r - < "$p") > "$mdir/patch.log" 2>&1; then
        log "$name: PATCH DOES NOT APPLY (see $mdir/patch.log)"
        sed 's/^/    /' "$mdir/patch.log"
        results+=("$name|NOT APPLIED|$(grep -m1 -i 'fail\|malformed\|reversed\|only garbage' "$mdir/patch.log")|$p")
        status=1
        continue
    fi
    if needs_so "$suites"; then
        log "$name: building"
        if ! build_so "$tree" "$mdir"; then
            log "$name: BUILD FAILED (see $mdir/build.log)"
            grep -m3 '^error' -A4 "$mdir/build.log" | sed 's/^/    /'
            results+=("$name|BUILD FAILED|$(grep -m1 '^error' "$mdir/build.log")|$p")
            status=1
            continue
        fi
    fi
    caught=()
    notes=()
    while read -r kind args; do
        [ -n "$kind" ] || continue
        # shellcheck disable=SC2086
        label=$(suite_label "$kind" $args)
        log "$name: $label${args:+ $(tr ' ' '\n' <<< "$args" | grep -v = | xargs)}"
        # shellcheck disable=SC2086
        if run_suite "$tree" "$mdir" "$kind" $args; then
            notes+=("$label passed")
            continue
        fi
        why=$(cat "$mdir/why")
        # a failure the baseline shares proves nothing
        inconclusive=0
        if [ "$kind" = run ]; then
            # shellcheck disable=SC2086
            k=$(envkey $args)
            inconclusive=1
            for c in $(failed_cases "$(cat "$mdir/lastlog")"); do
                [[ $bad_cases == *" $k|$c "* ]] || inconclusive=0
            done
        elif [[ $bad_suites == *" $kind "* ]]; then
            inconclusive=1
        fi
        if [ $inconclusive = 1 ]; then
            notes+=("$label failed, but so does the baseline")
        else
            caught+=("$label ($why)")
        fi
    done <<< "$suites"
    if [ ${#caught[@]} -gt 0 ]; then
        line="CAUGHT by ${caught[0]}"
        for c in "${caught[@]:1}"; do line="$line; and by $c"; done
        res=CAUGHT
        detail=${line#CAUGHT by }
    else
        line="SURVIVED"
        res=SURVIVED
        detail="no suite failed"
        status=1
    fi
    if [ ${#notes[@]} -gt 0 ]; then
        n=$(printf '%s, ' "${notes[@]}" | sed 's/, $//')
        line="$line  [$n]"; detail="$detail  [$n]"
    fi
    log "$name: $line"
    results+=("$name|$res|$detail|$p")
done

# ---------------------------------------------------------------- summary
echo
printf '%-26s %-12s %s\n' mutant result "change; caught by"
for r in "${results[@]}"; do
    IFS='|' read -r name res detail patchf <<< "$r"
    printf '%-26s %-12s %s\n' "$name" "$res" "$(change_of "$patchf")"
    printf '%-26s %-12s   -> %s\n' "" "" "$detail"
done
ncaught=$(printf '%s\n' "${results[@]}" | grep -c '|CAUGHT|')
echo
echo "elapsed: $(elapsed) s"
echo "mutants: $ncaught of ${#patches[@]} caught"
exit $status
