#!/usr/bin/env bash
# bench/containerd.sh: container start-up through the real clients, runsc against runc,
# in one run, as markdown rows (paste them into docs/benchmarks.md).
#
#   bench/containerd.sh                      # builds target/release/runsc first
#   RUNSC_BIN=path/to/runsc bench/containerd.sh
#
# Knobs (environment): RUNSC_BIN, RUNS (hyperfine runs per command, default 30),
# WARMUP (default 3).
#
# Measures, with hyperfine, a container running busybox `true` from start to exit:
#   1. `ctr run --rm` through containerd's runc v2 shim, with runc and with runsc as
#      the shim's runtime (`--runc-binary`);
#   2. `docker run --rm --network none`, with `--runtime=runc` and `--runtime=runsc`.
# A private containerd and dockerd (all state in a mkdtemp directory, stopped on exit)
# and a busybox image built locally (busybox-static, umoci, skopeo). Each command line
# makes a fresh container id with $(date +%s%N) in hyperfine's shell, the same for both
# runtimes. Needs root, containerd, ctr, dockerd, docker, runc, umoci, skopeo, hyperfine.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
runs=${RUNS:-30}
warmup=${WARMUP:-3}
log() { echo "$*" >&2; }

for tool in containerd ctr containerd-shim-runc-v2 dockerd docker runc umoci skopeo hyperfine python3; do
    command -v "$tool" >/dev/null || { log "missing $tool"; exit 1; }
done
if [[ -n "${RUNSC_BIN:-}" ]]; then
    runsc=$RUNSC_BIN
else
    log "building runsc (cargo build --release -p runsc)..."
    cargo build --release -p runsc >&2
    runsc=$repo/target/release/runsc
fi
runsc=$(cd "$(dirname "$runsc")" && pwd)/$(basename "$runsc")

work=$(mktemp -d /tmp/runsc-ctrbench.XXXXXX)
ns=bench-$$
ctrd_pid= dockerd_pid=
cleanup() {
    set +e
    if [[ -n $dockerd_pid ]]; then
        docker -H "unix://$work/docker.sock" ps -aq | xargs -r docker -H "unix://$work/docker.sock" rm -f >/dev/null
        kill "$dockerd_pid"; wait "$dockerd_pid"
    fi
    if [[ -n $ctrd_pid ]]; then
        kill "$ctrd_pid"; wait "$ctrd_pid"
    fi
    # dockerd bind-mounts its data root onto itself; shims may hold overlays.
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$work"
    # The runtimes remove each container's cgroup; the parents are ours too.
    find /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/*/"$ns-docker" -depth -type d -exec rmdir {} + 2>/dev/null
}
trap cleanup EXIT

log "building the busybox image..."
rootfs=$work/img/rootfs
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for a in $("$rootfs/bin/busybox" --list); do [[ $a == busybox ]] || ln -sf busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
(
    cd "$work/img"
    tar -C rootfs -cf rootfs.tar .
    umoci init --layout oci
    umoci new --image oci:busybox
    umoci insert --image oci:busybox rootfs /
    umoci config --image oci:busybox --config.cmd /bin/sh --architecture amd64 --os linux \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    skopeo copy oci:oci:busybox oci-archive:busybox-oci.tar:localhost/bench-busybox:latest
) >&2

log "starting containerd and dockerd in $work..."
cat >"$work/config.toml" <<EOF
version = 2
root = "$work/ctrd-root"
state = "$work/ctrd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = "$work/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/opt"
EOF
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
ctrd_pid=$!
ctr=(ctr --address "$work/containerd.sock" -n "$ns")
for _ in $(seq 100); do "${ctr[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${ctr[@]}" images import "$work/img/busybox-oci.tar" >&2

cat >"$work/daemon.json" <<EOF
{ "data-root": "$work/docker-root", "exec-root": "$work/docker-exec", "pidfile": "$work/dockerd.pid",
  "hosts": ["unix://$work/docker.sock"], "containerd": "$work/containerd.sock",
  "bridge": "none", "iptables": false, "ip6tables": false, "storage-driver": "overlay2",
  "cgroup-parent": "/$ns-docker", "runtimes": { "runsc": { "path": "$runsc" } } }
EOF
dockerd --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
docker=(docker -H "unix://$work/docker.sock")
export DOCKER_CONFIG=$work/docker-cli
for _ in $(seq 200); do "${docker[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
"${docker[@]}" import -c 'CMD ["/bin/sh"]' "$work/img/rootfs.tar" bench/busybox:latest >&2

ctr_run="${ctr[*]} run --rm"
image=localhost/bench-busybox:latest
dock_run="${docker[*]} run --rm --network none"
log "sanity: $("${ctr[@]}" run --rm --runc-binary "$runsc" --runc-root "$work/runsc-root" "$image" sanity echo ok) $("${docker[@]}" run --rm --network none --runtime=runsc bench/busybox:latest echo ok)"

hyperfine --warmup "$warmup" --runs "$runs" --export-json "$work/hf.json" \
    -n "ctr run --rm (runc)" "$ctr_run --runc-root $work/runc-root $image r\$(date +%s%N) /bin/true" \
    -n "ctr run --rm (runsc)" "$ctr_run --runc-binary $runsc --runc-root $work/runsc-root $image s\$(date +%s%N) /bin/true" \
    -n "docker run --rm (runc)" "$dock_run --runtime=runc bench/busybox:latest /bin/true" \
    -n "docker run --rm (runsc)" "$dock_run --runtime=runsc bench/busybox:latest /bin/true" >&2

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$work/hf.json" "$commit" <<'EOF'
import json, sys, datetime
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
date = datetime.date.today().isoformat()
print("| date | commit | client | runc median (ms) | runsc median (ms) | runsc / runc |")
print("|---|---|---|---|---|---|")
for client in ["ctr run --rm", "docker run --rm"]:
    runc = results[f"{client} (runc)"]["median"] * 1000
    runsc = results[f"{client} (runsc)"]["median"] * 1000
    print(f"| {date} | {sys.argv[2]} | `{client}` of busybox true | {runc:.1f} | {runsc:.1f} | {runsc / runc:.2f}x |")
EOF
