#!/usr/bin/env bash
# The release version pinned in the kustomize manifests: every
# `images:` entry for ghcr.io/leader-elector/leader-elector under deploy/.
#   .ci/image-tag.sh              prints the pinned version (fails if they differ)
#   .ci/image-tag.sh set 0.2.0    pins 0.2.0 everywhere (before tagging v0.2.0)
#   .ci/image-tag.sh check 0.2.0  fails unless 0.2.0 is pinned everywhere
#                                 (goreleaser's before hook, on a release)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=ghcr.io/leader-elector/leader-elector
die() { printf 'image-tag: %s\n' "$*" >&2; exit 1; }

# The kustomizations that pin the image: the line after "- name: $image"
# is its "newTag: X".
files=$(grep -rl --include=kustomization.yaml -F -- "- name: $image" "$root/deploy" | sort)
[ -n "$files" ] || die "no kustomization under deploy/ pins $image"

tags() {
	for f in $files; do
		grep -A1 -F -- "- name: $image" "$f" | sed -n 's/^ *newTag: *\([^ #]*\).*/\1/p' |
			sed "s|^|${f#"$root"/}: |"
	done
}

case ${1:-} in
"")
	got=$(tags | awk '{print $2}' | sort -u)
	[ "$(printf '%s\n' "$got" | wc -l)" = 1 ] || die "the manifests pin different versions:
$(tags)"
	echo "$got"
	;;
set)
	v=${2:?usage: image-tag.sh set VERSION}
	v=${v#v}
	for f in $files; do
		sed -i "/- name: ${image//\//\\/}/{n;s/newTag: *[^ #]*/newTag: $v/}" "$f"
	done
	"$0" check "$v"
	;;
check)
	v=${2:?usage: image-tag.sh check VERSION}
	v=${v#v}
	bad=$(tags | awk -v v="$v" '$2 != v')
	[ -z "$bad" ] || die "the manifests must pin $image:$v before releasing v$v (run .ci/image-tag.sh set $v and commit):
$bad"
	echo "image-tag: every manifest pins $image:$v" >&2
	;;
*) die "unknown command $1 (set VERSION, check VERSION, or none)" ;;
esac
