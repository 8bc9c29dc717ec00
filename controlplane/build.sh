#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver and etcd) from Go modules and
# caches the binaries outside the work tree. Prints the directory that holds
# them on its last line. A second run finds them and takes a second.
# With --check it builds nothing: it prints the directory if both binaries
# are there and fails otherwise.
#
# Why from source: setup-envtest, kind and image pulls need hosts that CI
# cannot reach; the Go module proxy is reachable everywhere we run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3

# The cache key covers the versions and the exact module graphs, so editing a
# wrapper go.mod rebuilds instead of reusing a stale binary.
sum=$(cat "$here"/tools/*/go.mod "$here"/tools/*/go.sum | sha256sum | cut -c1-12)
cache_root=${LEADER_ELECTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-elector}
dir="$cache_root/controlplane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$sum"

log() { printf 'controlplane: %s\n' "$*" >&2; }

build_etcd() {
	log "building etcd $ETCD_VERSION (about a minute cold)"
	(cd "$here/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
		-o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
	mv "$dir/etcd.tmp" "$dir/etcd"
}

build_apiserver() {
	log "building kube-apiserver $K8S_VERSION (10-20 minutes cold on 2 cores, seconds when the Go build cache is warm)"
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local date
	date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	local ld="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
	done
	(cd "$here/tools/kube-apiserver" && CGO_ENABLED=0 go build -trimpath \
		-tags selinux,notest,grpcnotrace -ldflags "$ld" \
		-o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
	mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
}

if [ "${1:-}" = "--check" ]; then
	# Used by the Go test helper: say where the binaries are, build nothing.
	[ -x "$dir/etcd" ] && [ -x "$dir/kube-apiserver" ] && { echo "$dir"; exit 0; }
	exit 1
fi

mkdir -p "$dir"
[ -x "$dir/etcd" ] || build_etcd
[ -x "$dir/kube-apiserver" ] || build_apiserver
log "ready: $("$dir/kube-apiserver" --version 2>&1), etcd $("$dir/etcd" --version 2>&1 | sed -n 's/^etcd Version: //p')"
echo "$dir"
