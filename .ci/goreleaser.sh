#!/usr/bin/env bash
# Proves the release configuration on every CI run, without publishing:
#   1. installs goreleaser from the Go module proxy (cached by version, like
#      internal/controlplane/build.sh caches the control plane: a cold build takes
#      about 11 minutes on 2 cores, a warm run a second);
#   2. `goreleaser check` validates goreleaser.yaml;
#   3. `goreleaser release --snapshot` of this machine's platform only (a
#      copy of goreleaser.yaml narrowed to it): the archive, the deb, rpm and
#      apk packages, the Homebrew cask, the krew manifest and checksums.txt,
#      exactly as a release makes them; the image, the signatures and the
#      SBOMs are skipped, each with a printed reason, when their tools (docker
#      buildx, cosign with an OIDC identity, syft) are missing;
#   4. the archive's binary must report the version, commit and date
#      goreleaser gave it; the packages must hold it and the checksums match;
#   5. the Dockerfile's COPY sources must exist in the build context
#      dockers_v2 would give it;
#   6. darwin/arm64 and windows/amd64 must compile too.
set -euo pipefail

GORELEASER_VERSION=v2.15.1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${LEADER_ELECTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leader-elector}
bindir="$cache_root/goreleaser/$GORELEASER_VERSION"
goreleaser="$bindir/goreleaser"

log() { printf 'release-check: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

if [ ! -x "$goreleaser" ]; then
	log "installing goreleaser $GORELEASER_VERSION into $bindir (about 11 minutes cold on 2 cores)"
	mkdir -p "$bindir"
	# Outside the repository, so our go.mod neither constrains nor records it.
	(cd "$bindir" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOBIN="$bindir" \
		nice go install -trimpath "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION")
fi
got=$("$goreleaser" --version 2>&1 | sed -n 's/^GitVersion: *//p')
[ "${got#v}" = "${GORELEASER_VERSION#v}" ] || die "$goreleaser reports version '$got', want $GORELEASER_VERSION"

cd "$root"
# goreleaser reads the commit only if `git ls-remote --get-url` works; in a
# clone with no remote (a local copy, a CI checkout without one) it silently
# stamps "none". Name the project's remote for goreleaser's git calls only,
# through the environment, leaving the repository's config alone.
if [ -z "$(git remote)" ]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
		GIT_CONFIG_VALUE_0=https://github.com/leader-elector/leader-elector.git
fi
log "goreleaser check"
"$goreleaser" check --quiet

# dist/ (ignored by git) is goreleaser's working directory and --clean
# empties it; the binary is also copied to a fresh directory of our own, so a
# stale one can never pass the checks below.
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/leader-elector-release-check.XXXXXX")
trap 'rm -rf "$out_dir"' EXIT
bin="$out_dir/leader-elector"
os=$(go env GOOS) arch=$(go env GOARCH)
# Six cross-compilations are too much for CI's 2 cores on every run: the
# snapshot builds this platform only, from a copy of the configuration.
cfg="$out_dir/goreleaser.yaml"
sed -e "s/^    goos: \[linux, darwin, windows\]\$/    goos: [$os]/" \
	-e "s/^    goarch: \[amd64, arm64\]\$/    goarch: [$arch]/" goreleaser.yaml >"$cfg"
grep -q "^    goos: \[$os\]\$" "$cfg" && grep -q "^    goarch: \[$arch\]\$" "$cfg" ||
	die "cannot narrow goreleaser.yaml's builds to $os/$arch: its goos/goarch lines changed; update this script"

# What the snapshot cannot do here is skipped out loud, never silently.
skip=(docker)
log "skipping the image (docker): dockers_v2 needs a Docker engine with buildx and a registry; checked by step 5 instead"
if ! command -v syft >/dev/null; then
	skip+=(sbom)
	log "skipping SBOMs (sbom): syft is not on PATH (a release needs it: go install github.com/anchore/syft/cmd/syft)"
fi
if ! command -v cosign >/dev/null; then
	skip+=(sign)
	log "skipping signatures (sign): cosign is not on PATH (a release needs it: go install github.com/sigstore/cosign/v3/cmd/cosign)"
elif [ -z "${SIGSTORE_ID_TOKEN:-}" ] && [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ]; then
	skip+=(sign)
	log "skipping signatures (sign): keyless cosign needs an OIDC identity (SIGSTORE_ID_TOKEN, or GitHub Actions with id-token: write)"
fi
skips=$(IFS=,; echo "${skip[*]}")
log "goreleaser release --snapshot --clean --skip=$skips ($os/$arch only)"
"$goreleaser" release --snapshot --clean --config "$cfg" --skip="$skips" 2>&1 |
	sed 's/^/  /' >&2 || die "goreleaser release --snapshot failed"

# The archive users download, and the binary in it.
meta() { sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' dist/metadata.json; }
want_version=$(meta version)
[ -n "$want_version" ] || die "no version in dist/metadata.json"
archive="dist/leader-elector_${want_version}_${os}_${arch}.tar.gz"
[ -f "$archive" ] || die "the snapshot made no archive $archive"
tar -xzf "$archive" -C "$out_dir" leader-elector README.md LICENSE || die "$archive lacks leader-elector, README.md or LICENSE"
[ -x "$bin" ] || die "$archive holds no executable leader-elector"

# The packages, each holding the same binary and the kubectl-leases link.
if [ "$os" = linux ]; then
	for ext in deb rpm apk; do
		set -- dist/*.$ext
		[ $# = 1 ] && [ -f "$1" ] || die "the snapshot made $# .$ext packages, want 1 (nfpms:)"
		grep -q " ${1#dist/}\$" dist/checksums.txt || die "checksums.txt does not list $1"
		log "package: $1 ($(wc -c <"$1") bytes)"
	done
	if command -v dpkg-deb >/dev/null; then
		deb=$(echo dist/*.deb)
		contents=$(dpkg-deb -c "$deb")
		grep -q ' \./usr/bin/leader-elector$' <<<"$contents" || die "$deb does not install /usr/bin/leader-elector"
		grep -q ' \./usr/bin/kubectl-leases -> ' <<<"$contents" || die "$deb does not link /usr/bin/kubectl-leases"
		mkdir "$out_dir/deb" && dpkg-deb -x "$deb" "$out_dir/deb"
		cmp -s "$bin" "$out_dir/deb/usr/bin/leader-elector" || die "$deb holds another binary than $archive"
		log "$deb installs the archive's binary and the kubectl-leases link"
	else
		log "not looking inside the .deb: dpkg-deb is not on PATH"
	fi
fi
(cd dist && sha256sum --quiet -c checksums.txt) || die "dist/checksums.txt does not match the files"
grep -q " ${archive#dist/}\$" dist/checksums.txt || die "checksums.txt does not list $archive"
[ -f dist/homebrew/Casks/leader-elector.rb ] || die "the snapshot made no Homebrew cask (homebrew_casks:)"
[ -f dist/krew/leases.yaml ] || die "the snapshot made no krew manifest (krews:)"
case ",$skips," in
*,sbom,*) ;;
*) [ -f "$archive.sbom.json" ] || die "syft ran but $archive has no SBOM" ;;
esac
case ",$skips," in
*,sign,*) ;;
*) [ -f dist/checksums.txt.sigstore.json ] || die "cosign ran but checksums.txt has no signature bundle" ;;
esac

# What goreleaser stamped this snapshot with (e.g. 0.0.1-next and HEAD's
# full hash). Taken from its metadata rather than from `git rev-parse HEAD`
# now, since others may commit while it builds.
commit=$(meta commit)
git cat-file -e "$commit^{commit}" 2>/dev/null || die "goreleaser stamped '$commit', which is no commit of this repository"
out=$("$bin" version)
log "built binary says: $out"
case "$out" in
*" (commit $commit, built "*) ;;
*) die "version output '$out' does not name commit $commit (ldflags -X main.commit not applied?)" ;;
esac
case "$out" in
"leader-elector $want_version (commit "*) ;;
*) die "version output '$out' does not start with 'leader-elector $want_version' (ldflags -X main.version not applied?)" ;;
esac
case "$out" in
*", built unknown)") die "version output '$out' lacks the build date (ldflags -X main.date not applied?)" ;;
esac
# A static binary: the image has no libc.
if command -v file >/dev/null && ! file "$bin" | grep -q 'statically linked'; then
	die "$bin is not statically linked: $(file "$bin")"
fi

# The image cannot be built here (no Docker engine), but what the Dockerfile
# copies can be checked against the context dockers_v2 builds it from: each
# binary at $TARGETPLATFORM/<name> (goreleaser v2.15.1, internal/pipe/docker/v2).
ctx="$out_dir/docker-context"
mkdir -p "$ctx/linux/amd64"
cp "$bin" "$ctx/linux/amd64/leader-elector"
while read -r _ src _; do
	src=${src//'${TARGETPLATFORM}'/linux/amd64}
	src=${src//'$TARGETPLATFORM'/linux/amd64}
	[ -e "$ctx/$src" ] || die "Dockerfile copies $src, which is not in dockers_v2's build context"
done < <(grep -E '^(COPY|ADD) ' Dockerfile)
grep -q '^ARG TARGETPLATFORM' Dockerfile || die "Dockerfile lacks ARG TARGETPLATFORM, so \$TARGETPLATFORM is empty in COPY"

# The release also promises darwin and windows. A Unix-only call outside a
# build tag breaks them without failing anything on Linux (it happened once
# here: syscall.O_NOFOLLOW in elect), so compile both, as goreleaser would.
for target in darwin/arm64 windows/amd64; do
	log "cross-compiling for $target"
	GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 \
		go build -trimpath -o /dev/null ./cmd/leader-elector ||
		die "leader-elector does not build for $target (keep OS-specific code behind build tags)"
done
log "ok"
