#!/usr/bin/env bash
# bench/syscall.sh: the cost of a system call and of starting a container, natively
# and under runsc, as a markdown table (paste it into docs/benchmarks.md).
#
#   bench/syscall.sh                 # builds target/release/runsc first
#   RUNSC_BIN=path/to/runsc bench/syscall.sh
#
# Knobs (environment): RUNSC_BIN (skip the cargo build and use this binary),
# RUNSC_PLATFORM (default ptrace), NATIVE_CALLS (default 2000000), RUNSC_CALLS
# (default 100000), TRAP_CALLS (default 500000), RUNS (start-up repetitions,
# default 20), SYSCALL_ONLY=1 (only the getpid and trap rows, for quick
# comparisons of platforms).
#
# Measures:
#   1. getpid round trip: tests/c/getpid_bench.c (raw syscall(SYS_getpid) in a loop),
#      natively and under `runsc do`, in ns per call. Next to it, natively, the raw
#      cost of one in-process seccomp trap (tests/c/trap_bench.c: a SECCOMP_RET_TRAP
#      filter for getppid, a SIGSYS handler, rt_sigreturn), the floor of the systrap
#      platform.
#   2. start-up: a static `true` (tests/c/true.c) executed natively, through
#      `runsc run` of a bundle holding it, and through `runsc do`; and through `runc run`
#      when runc is installed. hyperfine when installed, else a loop timed with date.
# A measurement that fails prints "not measured" with the reason; nothing is invented.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

platform=${RUNSC_PLATFORM:-ptrace}
native_calls=${NATIVE_CALLS:-2000000}
runsc_calls=${RUNSC_CALLS:-100000}
runs=${RUNS:-20}
trap_calls=${TRAP_CALLS:-500000}
syscall_only=${SYSCALL_ONLY:-0}

work=$(mktemp -d "${TMPDIR:-/tmp}/runsc-bench.XXXXXX")
cleanup() {
    # Containers left by a failed run are removed with their state dir.
    if [[ -n "${runsc:-}" && -x "${runsc:-}" && -d "$work/root" ]]; then
        for d in "$work/root"/*/; do
            [[ -d "$d" ]] && "$runsc" --root "$work/root" delete --force "$(basename "$d")" >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

log() { echo "$*" >&2; }

# --- build -------------------------------------------------------------------
if [[ -n "${RUNSC_BIN:-}" ]]; then
    runsc=$RUNSC_BIN
else
    log "building runsc (cargo build --release -p runsc)..."
    cargo build --release -p runsc >&2
    runsc=$repo/target/release/runsc
fi
[[ -x "$runsc" ]] || { log "no runsc binary at $runsc"; exit 1; }
runsc=$(cd "$(dirname "$runsc")" && pwd)/$(basename "$runsc")

gcc -O2 -static -o "$work/getpid_bench" tests/c/getpid_bench.c
gcc -O2 -static -o "$work/trap_bench" tests/c/trap_bench.c
gcc -O2 -static -o "$work/true" tests/c/true.c
gcc -O2 -static -o "$work/forkexec_bench" tests/c/forkexec_bench.c
mkdir -p "$work/root"

# A bundle whose rootfs holds only the static true.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/tmp" "$bundle/rootfs/dev"
cp "$work/true" "$bundle/rootfs/bin/true"
cat >"$bundle/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": $(id -u), "gid": $(id -g) },
    "args": ["/bin/true"],
    "env": ["PATH=/bin"],
    "cwd": "/"
  },
  "root": { "path": "rootfs", "readonly": false },
  "hostname": "bench",
  "mounts": [ { "destination": "/proc", "type": "proc", "source": "proc" } ],
  "linux": { "namespaces": [ {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                              {"type": "uts"}, {"type": "mount"} ] }
}
EOF

# Wrappers give every start-up path the same shape (one exec from a shell) and each
# container run a fresh id.
cat >"$work/native-true" <<EOF
#!/bin/sh
exec "$work/true"
EOF
cat >"$work/runsc-run-true" <<EOF
#!/bin/sh
exec "$runsc" --root "$work/root" --platform "$platform" run --bundle "$bundle" "bench-\$\$"
EOF
cat >"$work/runsc-do-true" <<EOF
#!/bin/sh
exec "$runsc" --root "$work/root" --platform "$platform" do -- "$work/true"
EOF
cat >"$work/runc-run-true" <<EOF
#!/bin/sh
exec runc --root "$work/runc-root" run --bundle "$bundle" "bench-\$\$"
EOF
chmod +x "$work"/native-true "$work"/runsc-run-true "$work"/runsc-do-true "$work"/runc-run-true

# --- helpers -----------------------------------------------------------------
# Prints ns/call from getpid_bench's "getpid: N calls, X ns/call", or fails.
getpid_ns() {
    local out
    out=$("$@" 2>"$work/err") || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    sed -n 's/^getpid: [0-9]* calls, \([0-9.]*\) ns\/call$/\1/p' <<<"$out" | grep . \
        || { log "unexpected output from $*: $out"; return 1; }
}

# Prints the mean wall time of a command in ms over $runs runs (after one warm-up),
# or fails if any run fails.
mean_ms() {
    "$@" >/dev/null 2>"$work/err" || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/h.json" "$*" >/dev/null 2>&1 \
            || { log "hyperfine failed: $*"; return 1; }
        # "mean": seconds
        sed -n 's/.*"mean": *\([0-9.eE+-]*\).*/\1/p' "$work/h.json" | head -n1 \
            | awk '{ printf "%.3f\n", $1 * 1000 }'
    else
        local start end i
        start=$(date +%s%N)
        for ((i = 0; i < runs; i++)); do
            "$@" >/dev/null 2>"$work/err" || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
        done
        end=$(date +%s%N)
        awk -v ns="$((end - start))" -v n="$runs" 'BEGIN { printf "%.3f\n", ns / n / 1e6 }'
    fi
}

ratio() {
    if [[ -n "$1" && -n "$2" ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1fx\n", b / a; else print "n/a" }'
    else
        echo "n/a"
    fi
}

cell() { if [[ -n "$1" ]]; then echo "$1"; else echo "not measured (failed)"; fi; }

# --- measure -----------------------------------------------------------------
log "getpid natively ($native_calls calls)..."
nat_getpid=$(getpid_ns "$work/getpid_bench" "$native_calls") || nat_getpid=""
log "getpid under runsc do ($runsc_calls calls)..."
rsc_getpid=$(getpid_ns "$runsc" --root "$work/root" --platform "$platform" do -- \
    "$work/getpid_bench" "$runsc_calls") || rsc_getpid=""

# Prints ns/call from trap_bench's "trap: N calls, X ns/call", or fails.
trap_ns() {
    local out
    out=$("$@" 2>"$work/err") || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    sed -n 's/^trap: [0-9]* calls, \([0-9.]*\) ns\/call$/\1/p' <<<"$out" | grep . \
        || { log "unexpected output from $*: $out"; return 1; }
}
log "raw in-process seccomp trap natively ($trap_calls calls)..."
nat_trap=$(trap_ns "$work/trap_bench" "$trap_calls") || nat_trap=""

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ "$syscall_only" == 1 ]]; then
    echo "Measured $(date -u +%Y-%m-%d) on $(uname -srm), $(nproc) cpus, commit $rev, platform $platform."
    echo
    echo "| benchmark | native | runsc ($platform) | runsc / native |"
    echo "|---|---|---|---|"
    echo "| getpid round trip (ns/call) | $(cell "$nat_getpid") | $(cell "$rsc_getpid") | $(ratio "$nat_getpid" "$rsc_getpid") |"
    echo "| raw in-process seccomp trap (ns/call) | $(cell "$nat_trap") | – | runsc getpid / trap: $(ratio "$nat_trap" "$rsc_getpid") |"
    exit 0
fi

# Prints runs/second from forkexec_bench's "forkexec: N runs, X per second", or fails.
forkexec_rate() {
    local out
    out=$("$@" 2>"$work/err") || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    sed -n 's/^forkexec: [0-9]* runs, \([0-9.]*\) per second$/\1/p' <<<"$out" | grep . \
        || { log "unexpected output from $*: $out"; return 1; }
}
forkexec_runs=${FORKEXEC_RUNS:-300}
log "fork+exec+wait of a static true natively and under runsc do ($forkexec_runs runs)..."
nat_fork=$(forkexec_rate "$work/forkexec_bench" "$forkexec_runs" "$work/true") || nat_fork=""
rsc_fork=$(forkexec_rate "$runsc" --root "$work/root" --platform "$platform" do -- \
    "$work/forkexec_bench" "$forkexec_runs" "$work/true") || rsc_fork=""

timer=$(command -v hyperfine >/dev/null 2>&1 && echo hyperfine || echo "date loop")
log "start-up, $runs runs each ($timer)..."
nat_true=$(mean_ms "$work/native-true") || nat_true=""
rsc_run=$(mean_ms "$work/runsc-run-true") || rsc_run=""
rsc_do=$(mean_ms "$work/runsc-do-true") || rsc_do=""
runc_run=""
if command -v runc >/dev/null 2>&1; then
    mkdir -p "$work/runc-root"
    runc_run=$(mean_ms "$work/runc-run-true") || runc_run=""
fi

# --- report ------------------------------------------------------------------
echo "Measured $(date -u +%Y-%m-%d) on $(uname -srm), $(nproc) cpus, commit $rev, platform $platform, timer: $timer."
echo
echo "| benchmark | native | runsc ($platform) | runsc / native |"
echo "|---|---|---|---|"
echo "| getpid round trip (ns/call) | $(cell "$nat_getpid") | $(cell "$rsc_getpid") | $(ratio "$nat_getpid" "$rsc_getpid") |"
echo "| raw in-process seccomp trap (ns/call) | $(cell "$nat_trap") | – | runsc getpid / trap: $(ratio "$nat_trap" "$rsc_getpid") |"
echo "| \`runsc run\` of a static true (ms) | $(cell "$nat_true") | $(cell "$rsc_run") | $(ratio "$nat_true" "$rsc_run") |"
echo "| \`runsc do\` of a static true (ms) | $(cell "$nat_true") | $(cell "$rsc_do") | $(ratio "$nat_true" "$rsc_do") |"
echo "| fork+exec+wait of a static true (per second, higher is better) | $(cell "$nat_fork") | $(cell "$rsc_fork") | $(ratio "$rsc_fork" "$nat_fork") slower |"
if command -v runc >/dev/null 2>&1; then
    echo
    echo "runc run of the same bundle: $(cell "$runc_run") ms; runsc run / runc run: $(ratio "$runc_run" "$rsc_run")"
else
    echo
    echo "runc is not installed: no runc column."
fi
