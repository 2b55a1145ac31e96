#!/usr/bin/env bash
# demo.sh — what `make demo` runs after `go build -o bin/ ./cmd/...`: builds
# the Kubernetes binaries when missing (the first time takes several
# minutes), then runs `fleetlb-local demo`: elbd, two ELBs, two real clusters
# and their controllers on loopback, scenarios S1 and S3 with real traffic.
# It stays up until Ctrl-C; pass --exit (or DEMO_FLAGS=--exit make demo) to
# stop after the report. State and logs: $FLEETLB_STATE_DIR (default tmp/playground).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export FLEETLB_K8S_BIN_DIR="${FLEETLB_K8S_BIN_DIR:-$root/bin/k8s}"

for b in elbd elbctl fleetlb-controller fleetlb-local; do
	if [[ ! -x bin/$b ]]; then
		echo "demo: building the fleetlb programs into bin/" >&2
		go build -o bin/ ./cmd/...
		break
	fi
done
echo "demo: checking the Kubernetes binaries in $FLEETLB_K8S_BIN_DIR (built once, several minutes the first time)" >&2
./tools/build-k8s-bins.sh "$FLEETLB_K8S_BIN_DIR"

state="${FLEETLB_STATE_DIR:-$root/tmp/playground}"
# shellcheck disable=SC2086 # DEMO_FLAGS is a list of flags
exec bin/fleetlb-local demo --state-dir "$state" ${DEMO_FLAGS:-} "$@"
