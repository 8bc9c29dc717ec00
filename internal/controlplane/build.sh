#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver and etcd) from Go modules and
# caches the binaries outside the work tree. Prints the directory that holds
# them on its last line. A second run finds them and takes a second.
# With --check it builds nothing: it prints the directory if both binaries
# are there and fails otherwise.
#
# K8S_VERSION=v1.29.6 controlplane/build.sh builds another kube-apiserver (for
# make test-compat). The default version's module is tools/kube-apiserver; any
# other gets a wrapper module generated into the cache from that Kubernetes
# release's own go.mod, so the default's cache key never changes.
#
# Why from source: setup-envtest, kind and image pulls need hosts that CI
# cannot reach; the Go module proxy is reachable everywhere we run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_K8S_VERSION=v1.37.2
K8S_VERSION=${K8S_VERSION:-$DEFAULT_K8S_VERSION}
ETCD_VERSION=v3.7.3
cache_root=${LEADER_ELECTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-elector}

log() { printf 'controlplane: %s\n' "$*" >&2; }

case $K8S_VERSION in
v1.[0-9]*.[0-9]*) ;;
*) log "K8S_VERSION=$K8S_VERSION is not a Kubernetes release like v1.33.13"; exit 2 ;;
esac
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}

# gen_module writes a wrapper module for K8S_VERSION into $1: k8s.io/kubernetes
# at that version, each staging module it replaces with a local path pinned
# to the matching v0.MINOR.PATCH, and kube-apiserver as its tool.
gen_module() {
	local mod=$1 gomod
	mkdir -p "$mod"
	gomod=$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
		sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
	[ -n "$gomod" ] || { log "cannot download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"; return 1; }
	{
		echo "module github.com/leader-elector/leader-elector/controlplane/tools/kube-apiserver-$K8S_VERSION"
		echo
		echo "go 1.26.0"
		echo
		echo "replace ("
		sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*|\1|p' "$gomod" | sort -u |
			while read -r m; do printf '\t%s => %s v0.%s\n' "$m" "$m" "${K8S_VERSION#v1.}"; done
		echo ")"
		echo
		echo "tool k8s.io/kubernetes/cmd/kube-apiserver"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
	} >"$mod/go.mod"
	# -e: releases before 1.31 import the in-tree cloud providers, whose
	# module the proxy may not serve; the providerless build below does not
	# need it, and go build fails loudly if anything it needs is missing.
	(cd "$mod" && go mod tidy -e) || { log "go mod tidy failed for kube-apiserver $K8S_VERSION"; return 1; }
}

tags=selinux,notest,grpcnotrace
if [ "$K8S_VERSION" = "$DEFAULT_K8S_VERSION" ]; then
	apiserver_mod="$here/tools/kube-apiserver"
else
	# Without the in-tree cloud providers (gone from the tree since 1.31).
	tags+=,providerless
	apiserver_mod="$cache_root/controlplane/modules/kube-apiserver-$K8S_VERSION"
	if [ ! -f "$apiserver_mod/go.sum" ]; then
		[ "${1:-}" = "--check" ] && exit 1
		log "generating the wrapper module for kube-apiserver $K8S_VERSION in $apiserver_mod"
		rm -rf "$apiserver_mod.tmp"
		gen_module "$apiserver_mod.tmp" || exit 1
		rm -rf "$apiserver_mod" && mv "$apiserver_mod.tmp" "$apiserver_mod"
	fi
fi

# The cache key covers the versions and the exact module graphs, so editing a
# wrapper go.mod rebuilds instead of reusing a stale binary. For the default
# version this is cat tools/*/go.mod tools/*/go.sum, as it always was.
sum=$(cat "$here/tools/etcd/go.mod" "$apiserver_mod/go.mod" "$here/tools/etcd/go.sum" "$apiserver_mod/go.sum" |
	sha256sum | cut -c1-12)
dir="$cache_root/controlplane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-$sum"

build_etcd() {
	log "building etcd $ETCD_VERSION (about a minute cold)"
	(cd "$here/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
		-o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
	mv "$dir/etcd.tmp" "$dir/etcd"
}

build_apiserver() {
	log "building kube-apiserver $K8S_VERSION (10-20 minutes cold on 2 cores, seconds when the Go build cache is warm)"
	local date
	date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	local ld="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
	done
	(cd "$apiserver_mod" && CGO_ENABLED=0 go build -trimpath \
		-tags "$tags" -ldflags "$ld" \
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
