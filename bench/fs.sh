#!/usr/bin/env bash
# bench/fs.sh: file system throughput and latency, natively and in the sandbox, as a
# markdown table (paste it into docs/benchmarks.md).
#
#   bench/fs.sh                      # builds target/release/runsc first
#   RUNSC_BIN=path/to/runsc bench/fs.sh
#
# Knobs (environment): RUNSC_BIN, RUNSC_PLATFORM (default ptrace), MIB (file size for
# the throughput rows, default 1024), STATS (stat calls, default 100000), RUNS
# (python start-up repetitions, default 10).
#
# Measures (tests/c/fs_bench.c, static):
#   1. sequential write of MIB MiB in 1 MiB writes + fsync, then sequential read, of a
#      host file: natively in a temporary directory, and in a container (`runsc run`)
#      that has the same directory as a writable bind mount (host fds donated by the
#      gofer, so data never passes through the gofer);
#   2. stat(2) of STATS distinct files once each, natively and in the container through
#      the writable bind mount (shared with the host, so every lookup asks the gofer);
#      and stat(2) of one file STATS times, natively and under `runsc do` on the host's
#      root (a gofer-served rootfs, whose lookups and stats the Sentry caches);
#   3. `python3 -c pass` natively and under `runsc do` (the interpreter and its standard
#      library read from the host's root through the gofer), mean wall time.
# A measurement that fails prints "not measured (failed)" with the reason on stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
platform=${RUNSC_PLATFORM:-ptrace}
mib=${MIB:-1024}
stats=${STATS:-100000}
runs=${RUNS:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/runsc-fsbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "$*" >&2; }

if [[ -n "${RUNSC_BIN:-}" ]]; then
    runsc=$RUNSC_BIN
else
    log "building runsc (cargo build --release -p runsc)..."
    cargo build --release -p runsc >&2
    runsc=$repo/target/release/runsc
fi
runsc=$(cd "$(dirname "$runsc")" && pwd)/$(basename "$runsc")
gcc -O2 -static -o "$work/fs_bench" tests/c/fs_bench.c
mkdir -p "$work/data" "$work/root"

# A bundle whose rootfs holds only fs_bench, with $work/data bound at /data.
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/data" "$bundle/rootfs/proc" "$bundle/rootfs/dev"
cp "$work/fs_bench" "$bundle/rootfs/bin/"
in_container() {
    # $1: the fs_bench arguments, run as /bin/fs_bench inside the container.
    cat >"$bundle/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": { "terminal": false, "user": { "uid": 0, "gid": 0 },
               "args": [$1], "env": ["PATH=/bin"], "cwd": "/" },
  "root": { "path": "rootfs", "readonly": true },
  "mounts": [ { "destination": "/data", "type": "bind", "source": "$work/data", "options": ["rbind", "rw"] } ]
}
JSON
    "$runsc" --root "$work/root" --platform "$platform" run --bundle "$bundle" "fsbench-$$-$RANDOM"
}

# Prints the number after "KEY: N UNIT, " in fs_bench's output, or fails.
field() {
    local key=$1 out
    shift
    out=$("$@" 2>"$work/err") || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    sed -n "s/^$key: [0-9]* [A-Za-z]*, \([0-9.]*\) .*/\1/p" <<<"$out" | grep . \
        || { log "unexpected output from $*: $out"; return 1; }
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

log "sequential write/read of $mib MiB natively..."
nat_w=$(field write "$work/fs_bench" write "$work/data/native.dat" "$mib") || nat_w=""
drop_caches
nat_r=$(field read "$work/fs_bench" read "$work/data/native.dat") || nat_r=""
rm -f "$work/data/native.dat"
log "sequential write/read of $mib MiB in a container (writable bind mount)..."
rsc_w=$(field write in_container "\"/bin/fs_bench\", \"write\", \"/data/sandbox.dat\", \"$mib\"") || rsc_w=""
drop_caches
rsc_r=$(field read in_container "\"/bin/fs_bench\", \"read\", \"/data/sandbox.dat\"") || rsc_r=""
rm -f "$work/data/sandbox.dat"

log "stat of $stats distinct files, natively and through a bind mount..."
mkdir -p "$work/data/many"
"$work/fs_bench" mkfiles "$work/data/many" "$stats"
nat_m=$(field statmany "$work/fs_bench" statmany "$work/data/many" "$stats") || nat_m=""
rsc_m=$(field statmany in_container "\"/bin/fs_bench\", \"statmany\", \"/data/many\", \"$stats\"") || rsc_m=""
rm -rf "$work/data/many"

log "stat of /usr/bin/env, $stats calls..."
nat_s=$(field stat "$work/fs_bench" stat /usr/bin/env "$stats") || nat_s=""
rsc_s=$(field stat "$runsc" --root "$work/root" --platform "$platform" do -- "$work/fs_bench" stat /usr/bin/env "$stats") || rsc_s=""

mean_ms() {
    "$@" >/dev/null 2>"$work/err" || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    local start end i
    start=$(date +%s%N)
    for ((i = 0; i < runs; i++)); do
        "$@" >/dev/null 2>"$work/err" || { log "failed: $* :: $(head -n3 "$work/err")"; return 1; }
    done
    end=$(date +%s%N)
    awk -v ns="$((end - start))" -v n="$runs" 'BEGIN { printf "%.1f\n", ns / n / 1e6 }'
}
python=/usr/bin/python3
log "python3 -c pass, $runs runs each..."
nat_py=$(mean_ms env -i "$python" -c pass) || nat_py=""
rsc_py=$(mean_ms "$runsc" --root "$work/root" --platform "$platform" do -- "$python" -c pass) || rsc_py=""

ratio() {
    if [[ -n "$1" && -n "$2" ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2fx\n", b / a; else print "n/a" }'
    else echo "n/a"; fi
}
cell() { if [[ -n "$1" ]]; then echo "$1"; else echo "not measured (failed)"; fi; }

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "Measured $(date -u +%Y-%m-%d) on $(uname -srm), $(nproc) cpus, commit $rev, platform $platform."
echo
echo "| benchmark | native | runsc ($platform) | runsc / native |"
echo "|---|---|---|---|"
echo "| sequential write of $mib MiB + fsync, host file (MiB/s, higher is better) | $(cell "$nat_w") | $(cell "$rsc_w") | $(ratio "$nat_w" "$rsc_w") |"
echo "| sequential read of $mib MiB, host file, cold cache (MiB/s, higher is better) | $(cell "$nat_r") | $(cell "$rsc_r") | $(ratio "$nat_r" "$rsc_r") |"
echo "| stat of $stats distinct host files in a bind mount, each once (ns/call) | $(cell "$nat_m") | $(cell "$rsc_m") | $(ratio "$nat_m" "$rsc_m") |"
echo "| stat of /usr/bin/env $stats times, rootfs (ns/call) | $(cell "$nat_s") | $(cell "$rsc_s") | $(ratio "$nat_s" "$rsc_s") |"
echo "| \`python3 -c pass\` (ms) | $(cell "$nat_py") | $(cell "$rsc_py") | $(ratio "$nat_py" "$rsc_py") |"
