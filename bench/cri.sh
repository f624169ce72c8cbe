#!/usr/bin/env bash
# bench/cri.sh: start-up cost through containerd, runsc against runc, in one
# run, as a markdown table (paste it into docs/benchmarks.md):
#   - `ctr run --rm` of busybox `true`: containerd-shim-runsc-v1 against the
#     runc shim with runc;
#   - a CRI pod start (RunPodSandbox -> container exited) with the handlers
#     runc, runsc (our shim) and runsc-runc-shim (runc's shim, runsc binary).
# It starts a private containerd (everything under a temporary directory) with
# the local busybox and pause images (tests/src/containerd.rs) and stops it.
#
#   bench/cri.sh                  # release build of runsc, the shim and the bench
#   RUNS=50 WARMUP=5 bench/cri.sh
#
# Needs root, containerd, ctr, runc, umoci, skopeo, protoc (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p runsc -p containerd-shim-runsc >&2
exec cargo run --release -q -p runsc-tests --example cri_bench
