#!/usr/bin/env bash
# bench/net.sh: loopback TCP natively and inside the sandbox (the Sentry's
# smoltcp stack, docs/networking.md), as a markdown table for docs/benchmarks.md.
#
#   bench/net.sh                     # builds target/release/runsc first
#   RUNSC_BIN=path/to/runsc bench/net.sh
#
# Knobs (environment): RUNSC_BIN (skip the build), RUNSC_PLATFORM (default
# ptrace), STREAM_MIB (default 256 natively, 64 under runsc: MiB sent through
# one connection), RR (round trips, default 20000 / 2000), CONNS (connections,
# default 2000 / 300). STREAM_MIB_RUNSC, RR_RUNSC and CONNS_RUNSC set the
# counts under runsc.
#
# Measures, with tests/c/tcp_bench.c (server and client forked from one program,
# timed in the server):
#   1. throughput: one connection, 64 KiB writes, MiB/s;
#   2. request rate: 64-byte request/response round trips per second on one
#      connection (TCP_NODELAY);
#   3. connection rate: connect/accept/close cycles per second;
#   4. for comparison, round trips over a unix socketpair (no TCP/IP stack).
# A measurement that fails prints "not measured"; nothing is invented.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
platform=${RUNSC_PLATFORM:-ptrace}

work=$(mktemp -d "${TMPDIR:-/tmp}/runsc-netbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "$*" >&2; }

if [[ -n "${RUNSC_BIN:-}" ]]; then
    runsc=$RUNSC_BIN
else
    log "building runsc (cargo build --release -p runsc)..."
    cargo build --release -p runsc >&2
    runsc=$repo/target/release/runsc
fi
[[ -x "$runsc" ]] || { log "no runsc binary at $runsc"; exit 1; }
gcc -O2 -static -o "$work/tcp_bench" tests/c/tcp_bench.c

# measure WHERE MODE N: prints the number, or "not measured".
measure() {
    local where=$1 mode=$2 n=$3 out
    if [[ $where == native ]]; then
        out=$("$work/tcp_bench" "$mode" "$n" 2>"$work/err") || out=""
    else
        out=$("$runsc" --platform "$platform" do -- "$work/tcp_bench" "$mode" "$n" 2>"$work/err") || out=""
    fi
    if [[ -z $out ]]; then
        log "$where $mode failed: $(cat "$work/err")"
        echo "not measured"
    else
        echo "$out"
    fi
}

ratio() {
    if [[ $1 == "not measured" || $2 == "not measured" ]]; then
        echo "-"
    else
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx slower", a / b }'
    fi
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
today=$(date -u +%Y-%m-%d)
echo "| date | commit | platform | benchmark | native | runsc | native / runsc |"
echo "|---|---|---|---|---|---|---|"
row() {
    local name=$1 mode=$2 native_n=$3 sandbox_n=$4 native_v sandbox_v
    native_v=$(measure native "$mode" "$native_n")
    sandbox_v=$(measure runsc "$mode" "$sandbox_n")
    echo "| $today | $commit | $platform | $name | $native_v | $sandbox_v | $(ratio "$native_v" "$sandbox_v") |"
}
row "TCP throughput, one connection (MiB/s)" stream "${STREAM_MIB:-256}" "${STREAM_MIB_RUNSC:-64}"
row "TCP 64-byte round trips (per second)" rr "${RR:-20000}" "${RR_RUNSC:-2000}"
row "TCP connections (per second)" conn "${CONNS:-2000}" "${CONNS_RUNSC:-300}"
row "unix socketpair 64-byte round trips (per second, for comparison)" unixrr "${RR:-20000}" "${RR_RUNSC:-2000}"
