#!/usr/bin/env bash
# Builds the Kubernetes binaries the test suite runs, into the shared tool cache
# (scripts/toolcache.sh), linked into .tools/bin:
#
#   etcd                     go.etcd.io/etcd/server/v3   (pinned in tools/kube/go.mod)
#   kube-apiserver           k8s.io/kubernetes           (pinned in tools/kube/go.mod)
#   kube-controller-manager  the same release: Deployments roll, ReplicaSets make pods, the
#                            quota, namespace and endpoint controllers run
#   kube-scheduler           the same release: the scheduler's own plugins place the pods
#   kubelet-check            tools/kube/cmd/kubelet-check: the kubelet's own flag set, config
#                            scheme and validation of that release, judging the k3s agents'
#                            kubelet arguments and drop-ins
#   kwok                     sigs.k8s.io/kwok (pinned below): nodes without a container
#                            runtime, whose scheduled pods become Running and Ready
#
# Idempotent: a cache entry is keyed by tools/kube's go.mod, go.sum and sources, the pins below
# and the Go version, so a second clone of the same pins builds nothing. Needs only Go and the
# Go module proxy; cold, the Kubernetes binaries take about 15 minutes on 2 cores (most of it
# compiling kube-apiserver; the other two share its packages), KWOK about 3.
#
# Usage: scripts/install-kube-tools.sh
tool_log_name=install-kube-tools
source "$(dirname "${BASH_SOURCE[0]}")/toolcache.sh"

tools_mod="$repo_root/tools/kube"
kwok_version=v0.8.0
# Bump when the build recipe below (flags, binaries) changes.
recipe=2

build_kube() {
	local out="$1"
	cd "$tools_mod"
	export GOWORK=off CGO_ENABLED=0
	local k8s_version etcd_version k8s_commit
	k8s_version="$(go list -m -f '{{.Version}}' k8s.io/kubernetes)"
	etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
	local minor="${k8s_version#v}"
	local major="${minor%%.*}"
	minor="${minor#*.}"
	minor="${minor%%.*}"
	log "downloading modules (kubernetes $k8s_version, etcd $etcd_version)"
	go mod download
	# The source commit only shows in /version's gitCommit; not finding it is no error.
	k8s_commit="$(go mod download -json "k8s.io/kubernetes@$k8s_version" 2>/dev/null |
		sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]\{40\}\)".*/\1/p' | head -n1 || true)"
	local vpkg=k8s.io/component-base/version
	local ldflags="-s -w -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=$major -X $vpkg.gitMinor=$minor"
	ldflags+=" -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"
	if [[ -n "$k8s_commit" ]]; then ldflags+=" -X $vpkg.gitCommit=$k8s_commit"; fi

	log "building etcd $etcd_version"
	go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
	log "building kube-apiserver, kube-controller-manager, kube-scheduler $k8s_version and kubelet-check (the slow part)"
	# One go build for all four: the packages they share are compiled once.
	go build -trimpath -ldflags "$ldflags" -o "$out/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler \
		./cmd/kubelet-check
	local b got
	for b in kube-apiserver kube-controller-manager kube-scheduler; do
		got="$("$out/$b" --version)"
		[[ "$got" == "Kubernetes $k8s_version" ]] || die "built $b reports '$got', want 'Kubernetes $k8s_version'"
	done
	got="$("$out/etcd" --version)"
	[[ "$got" == *"etcd Version: ${etcd_version#v}"* ]] || die "built etcd reports '$got', want ${etcd_version#v}"
	printf 'kubernetes %s, etcd %s\n' "$k8s_version" "$etcd_version" >"$out/VERSION"
}

build_kwok() {
	local out="$1"
	export GOWORK=off CGO_ENABLED=0
	log "building kwok $kwok_version"
	(cd "$out" && GOBIN="$out" go install -trimpath \
		-ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" "sigs.k8s.io/kwok/cmd/kwok@$kwok_version")
	local got
	got="$("$out/kwok" --version 2>&1 | head -n1)"
	[[ "$got" == *"${kwok_version#v}"* ]] || die "built kwok reports '$got', want $kwok_version"
}

kube_key="$(cache_key kube "recipe $recipe" "$tools_mod/go.mod" "$tools_mod/go.sum" \
	"$(cd "$tools_mod" && find cmd -type f -name '*.go' | sort | xargs cat)")"
cached_tool kube "$kube_key" build_kube etcd kube-apiserver kube-controller-manager kube-scheduler kubelet-check
cached_tool kwok "$(cache_key kwok "$kwok_version" "recipe $recipe")" build_kwok kwok
