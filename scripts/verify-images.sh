#!/usr/bin/env bash
# verify-images.sh — `make verify-images`: the image tarballs of `make images` as a container
# runtime takes them. A private containerd (its own root, state and socket under a temporary
# directory; no network, nothing shared with a containerd the machine may run) imports each
# bin/images/*.tar with every platform (`ctr images import --all-platforms`, the OCI archive path
# that `docker load` also reads), lists the platforms it holds, and runs this machine's
# architecture of each image with runc (`ctr run`, the image's own entrypoint and user) asking
# `--version`. Needs root and Debian's containerd (apt-get install -y containerd); not part of
# `make test`, which checks the tarballs' contents without a runtime (packaging/images).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "verify-images: run as root (containerd and runc need it)" >&2; exit 2; }
command -v containerd >/dev/null && command -v ctr >/dev/null ||
	{ echo "verify-images: containerd is missing: apt-get install -y containerd" >&2; exit 2; }
ls bin/images/*.tar >/dev/null 2>&1 || { echo "verify-images: no bin/images/*.tar: run make images first" >&2; exit 2; }

dir=$(mktemp -d /tmp/fleetlb-verify-images-XXXXXX)
sock=$dir/containerd.sock
cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
TOML
containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 50); do ctr -a "$sock" version >/dev/null 2>&1 && break; sleep 0.2; done
ctr -a "$sock" version >/dev/null || { cat "$dir/containerd.log" >&2; exit 1; }

ctr() { command ctr -a "$sock" -n fleetlb-verify "$@"; }
fail=0
for tar in bin/images/*.tar; do
	name=$(basename "$tar" .tar)
	ref=$(ctr images import --all-platforms "$tar" | sed -n 's/^unpacking \([^ ]*\) .*/\1/p' | head -1)
	[ -n "$ref" ] || { echo "$tar: containerd imported no image" >&2; fail=1; continue; }
	platforms=$(ctr images ls "name==$ref" | awk 'NR==2{print $(NF-1)}')
	out=$(ctr run --rm "$ref" "verify-$name" /usr/local/bin/"$name" --version 2>&1) || true
	echo "$tar: $ref, platforms $platforms: $out"
	case "$platforms" in *linux/amd64*linux/arm64*|*linux/arm64*linux/amd64*) ;; *) echo "  not both linux/amd64 and linux/arm64" >&2; fail=1 ;; esac
	case "$out" in "$name v"*"(commit "*) ;; *) echo "  --version did not answer with the version" >&2; fail=1 ;; esac
done
exit $fail
