#!/usr/bin/env bash
# build-k8s-bins.sh DIR — build kube-apiserver, kube-controller-manager, kubectl,
# kube-scheduler and etcd into DIR from the Go module proxy, with the versions
# pinned in tools/go.mod. Builds only what is missing or stale (built from
# other inputs). Needs only Go; the first build takes several minutes.
#
# One local change: the test clusters run every pod and node on a loopback
# address (127.0.0.0/8), and stock kube-apiserver refuses loopback addresses
# in Endpoints and EndpointSlices (ValidateEndpointIP). The Kubernetes binaries
# are built from a copy of k8s.io/kubernetes (hard links into the module cache, outside
# the work tree) that drops only that loopback check; nothing else in
# Kubernetes is changed and the module cache is not modified.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-$here/../bin/k8s}"
mkdir -p "$dir/.stamps"
dir="$(cd "$dir" && pwd)"

k8s_version=v1.37.2
# Bump when the patch below changes, so the Kubernetes binaries are rebuilt.
k8s_patch=loopback-endpoints-1

declare -A pkgs=(
	[etcd]=github.com/fleetlb/fleetlb/tools/cmd/etcd
	[kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
	[kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
	[kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
	[kubectl]=k8s.io/kubernetes/cmd/kubectl
)
# kubectl is for people (the demo prints kubectl commands) and for checks by hand.
order=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

# What each binary is built from: stale if its inputs change.
common="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"
stamp_of() {
	case "$1" in
	etcd) echo "$common-$(sha256sum <"$here/cmd/etcd/main.go" | cut -c1-16)" ;;
	*) echo "$common-$k8s_patch" ;;
	esac
}

command -v go >/dev/null || { echo "k8s-bins: go is not on PATH; install Go 1.26 or later" >&2; exit 1; }

# Scratch space for the patched copy, outside the work tree (so gofmt, grep
# and editors do not walk 100+ MB of Kubernetes) and next to the Go build
# cache (same file system as the module cache, usually, so hard links work).
# One per checkout.
work="$(dirname "$(go env GOCACHE)")/fleetlb-k8s-build/$(printf '%s' "$here" | sha256sum | cut -c1-12)"
mkdir -p "$work"
if [[ -d "$here/.build" ]]; then # the old in-tree location
	find "$here/.build" -type d -exec chmod u+w {} +
	rm -rf "$here/.build"
fi

# One build at a time per checkout (two `make` runs at once would race).
if command -v flock >/dev/null; then
	exec 9>"$work/lock"
	flock 9
fi

missing=()
for b in "${order[@]}"; do
	if [[ -x "$dir/$b" && "$(cat "$dir/.stamps/$b" 2>/dev/null)" == "$(stamp_of "$b")" ]]; then
		echo "k8s-bins: $b up to date"
	elif [[ -x "$dir/$b" ]]; then
		echo "k8s-bins: $b is stale (tools/go.mod or the build changed)"
		missing+=("$b")
	else
		missing+=("$b")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "k8s-bins: all present in $dir"
	exit 0
fi

cd "$here"
export GOWORK=off CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=mod"
# Stamp the release into the binaries as the Kubernetes release build does, so
# /version reports v1.37.2 and not v0.0.0-master.
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
	ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

# remove_copy deletes a previous copy (its directories may be read-only).
remove_copy() {
	if [[ -d "$1" ]]; then
		find "$1" -type d -exec chmod u+w {} +
		rm -rf "$1"
	fi
}

# patched_modfile prints the path of a go.mod like tools/go.mod whose
# k8s.io/kubernetes is a local copy (hard links into the module cache, which
# stays untouched) with the loopback check removed. go build -overlay cannot
# be used: it refuses to replace files in the module cache.
patched_modfile() {
	local src rel copy
	src="$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)"
	rel=pkg/apis/core/validation/validation.go
	copy="$work/kubernetes"
	remove_copy "$copy"
	mkdir -p "$work"
	if ! cp -rl "$src" "$copy" 2>/dev/null; then
		remove_copy "$copy" # e.g. another file system: copy instead of linking
		cp -r "$src" "$copy"
	fi
	# Only directories are made writable: the files may be links into the cache.
	find "$copy" -type d -exec chmod u+w {} +
	rm -f "$copy/$rel"
	# Drop exactly the loopback rejection in ValidateEndpointIP.
	awk '
		/^func ValidateEndpointIP\(/ { infn = 1 }
		infn && /^}/ { infn = 0 }
		infn && $0 ~ /^\tif ip\.IsLoopback\(\) \{$/ { print "\tif false && ip.IsLoopback() { // fleetlb: test clusters use loopback pod IPs"; n++; next }
		{ print }
		END { if (n != 1) exit 3 }
	' "$src/$rel" >"$copy/$rel" || {
		echo "k8s-bins: could not find the loopback check in $src/$rel; update $0" >&2
		return 1
	}
	cp "$here/go.mod" "$work/go.mod"
	cp "$here/go.sum" "$work/go.sum"
	echo "replace k8s.io/kubernetes => $copy" >>"$work/go.mod"
	echo "$work/go.mod"
}

echo "k8s-bins: building ${missing[*]} into $dir (the first build downloads modules and takes several minutes)"
start=$(date +%s)
modfile=""
for b in "${missing[@]}"; do
	t0=$(date +%s)
	extra=()
	if [[ "$b" == kube* ]]; then
		# All four from the same patched source: they then share the build
		# cache (only kube-apiserver needs the patch).
		if [[ -z "$modfile" ]]; then
			go mod download k8s.io/kubernetes
			modfile="$(patched_modfile)" || exit 1
		fi
		extra=(-modfile "$modfile")
	fi
	echo "k8s-bins: building $b (${pkgs[$b]}) ..."
	go build -trimpath -ldflags "$ldflags" "${extra[@]}" -o "$dir/$b.tmp" "${pkgs[$b]}"
	mv "$dir/$b.tmp" "$dir/$b"
	stamp_of "$b" >"$dir/.stamps/$b"
	echo "k8s-bins: built $b in $(($(date +%s) - t0))s"
done
echo "k8s-bins: done in $(($(date +%s) - start))s; binaries in $dir"
