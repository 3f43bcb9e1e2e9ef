#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries the test suite runs
# (offline/kubeapi starts them on loopback):
#
#   kube-apiserver  from k8s.io/kubernetes          (version pinned in tools/kube/go.mod)
#   etcd            from go.etcd.io/etcd/server/v3  (version pinned in tools/kube/go.mod)
#
# into <repo>/.tools/bin (or $OUTSIDE_IN_KUBE_TOOLS when set). Idempotent: when
# the binaries are present and the stamp file matches tools/kube/go.mod,
# go.sum and the build recipe, it does nothing. Needs only Go and the Go module
# proxy; a cold build (empty module and build caches) takes about 4-5 minutes
# on 2 cores, almost all of it compiling kube-apiserver.
#
# Usage: scripts/install-kube-tools.sh [--force]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_mod="$repo_root/tools/kube"
bin_dir="${OUTSIDE_IN_KUBE_TOOLS:-$repo_root/.tools/bin}"
stamp="$bin_dir/.kube-tools.stamp"
force=0
if [[ "${1:-}" == "--force" ]]; then force=1; fi

log() { printf 'install-kube-tools: %s\n' "$*"; }

command -v go >/dev/null 2>&1 || { log "error: go is not on PATH"; exit 1; }
mkdir -p "$bin_dir"

# Bump when the build recipe below (flags, binaries) changes.
recipe=1

# The stamp identifies what is installed: the pinned module graph plus the
# build recipe. A change to either forces a rebuild.
want_stamp="recipe-$recipe-$(cat "$tools_mod/go.mod" "$tools_mod/go.sum" | sha256sum | cut -d' ' -f1)"

up_to_date() {
	[[ -x "$bin_dir/kube-apiserver" && -x "$bin_dir/etcd" && -f "$stamp" ]] &&
		[[ "$(head -n1 "$stamp")" == "$want_stamp" ]]
}

if [[ $force -eq 0 ]] && up_to_date; then
	log "up to date in $bin_dir ($(sed -n 2p "$stamp"))"
	exit 0
fi

# Serialise concurrent runs (e.g. parallel make targets) on the same bin dir.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$bin_dir/.kube-tools.lock"
	flock 9
	if [[ $force -eq 0 ]] && up_to_date; then
		log "up to date in $bin_dir (built by a concurrent run)"
		exit 0
	fi
fi

start=$SECONDS
cd "$tools_mod"
export GOWORK=off CGO_ENABLED=0

k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
k8s_minor="${k8s_version#v}"
k8s_major="${k8s_minor%%.*}"
k8s_minor="${k8s_minor#*.}"
k8s_minor="${k8s_minor%%.*}"

log "downloading modules (kubernetes $k8s_version, etcd $etcd_version)"
go mod download

# The source commit is recorded by the module proxy; it is only cosmetic
# (/version's gitCommit), so a failure to find it is not an error.
k8s_commit="$(go mod download -json "k8s.io/kubernetes@$k8s_version" 2>/dev/null |
	sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]\{40\}\)".*/\1/p' | head -n1 || true)"

tmp_dir="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

vpkg=k8s.io/component-base/version
ldflags="-s -w"
ldflags+=" -X $vpkg.gitVersion=$k8s_version"
ldflags+=" -X $vpkg.gitMajor=$k8s_major"
ldflags+=" -X $vpkg.gitMinor=$k8s_minor"
ldflags+=" -X $vpkg.gitTreeState=clean"
ldflags+=" -X $vpkg.buildDate=1970-01-01T00:00:00Z"
if [[ -n "$k8s_commit" ]]; then ldflags+=" -X $vpkg.gitCommit=$k8s_commit"; fi

log "building etcd $etcd_version"
go build -trimpath -ldflags "-s -w" -o "$tmp_dir/etcd" go.etcd.io/etcd/server/v3

log "building kube-apiserver $k8s_version (the slow part: a few minutes on a cold cache)"
go build -trimpath -ldflags "$ldflags" -o "$tmp_dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver

got="$("$tmp_dir/kube-apiserver" --version)"
if [[ "$got" != "Kubernetes $k8s_version" ]]; then
	log "error: built kube-apiserver reports '$got', want 'Kubernetes $k8s_version'"
	exit 1
fi
got="$("$tmp_dir/etcd" --version)"
if [[ "$got" != *"etcd Version: ${etcd_version#v}"* ]]; then
	log "error: built etcd reports '$got', want version ${etcd_version#v}"
	exit 1
fi

mv -f "$tmp_dir/etcd" "$bin_dir/etcd"
mv -f "$tmp_dir/kube-apiserver" "$bin_dir/kube-apiserver"
printf '%s\nkube-apiserver %s, etcd %s\n' "$want_stamp" "$k8s_version" "$etcd_version" >"$stamp"
log "installed kube-apiserver $k8s_version and etcd $etcd_version into $bin_dir in $((SECONDS - start))s"
