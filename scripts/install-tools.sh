#!/usr/bin/env bash
# Installs the command-line tools the lifecycle, workflow and user-data checks run:
#
#   pulumi       the Pulumi CLI, built from github.com/pulumi/pulumi/pkg/v3 (pinned in
#                tools/pulumi/go.mod); internal/envlife and cmd/env drive it on a file backend
#   actionlint   github.com/rhysd/actionlint (pinned below); cmd/env lints .github/workflows
#   kube-score   github.com/zegl/kube-score (pinned below); scores the Kubernetes objects
#   and from Debian: the shellcheck and cloud-init commands, which check the k3s user data
#
# The Go tools are built once per machine into the shared tool cache (scripts/toolcache.sh),
# keyed by tools/pulumi/go.mod, go.sum, the pins below and the Go version, and linked into
# <repo>/.tools/bin, where the tests look for them. Needs Go and the Go module proxy; a cold
# build of the Pulumi CLI takes about 12 minutes on 2 cores; the log says how long it took.
#
# The Debian packages are installed with apt-get when missing and running as root; otherwise
# the script stops and names the packages to install.
#
# Usage: scripts/install-tools.sh
tool_log_name=install-tools
source "$(dirname "${BASH_SOURCE[0]}")/toolcache.sh"

tools_mod="$repo_root/tools/pulumi"

# Pins of the tools that `go install pkg@version` builds straight from their own modules (they
# have no replace directives, so their go.mod alone decides their dependencies).
actionlint_version=v1.7.12
kube_score_version=v1.20.0
# Bump when the build recipe below (flags, binaries) changes.
recipe=1

# --- Debian packages --------------------------------------------------------------------------
# Checked on every run: they live outside the tool cache, which cannot vouch for them.
missing=()
[[ "${OUTSIDE_IN_TOOLS_KEYS:-}" == 1 ]] || command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
[[ "${OUTSIDE_IN_TOOLS_KEYS:-}" == 1 ]] || command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
if ((${#missing[@]} > 0)); then
	if [[ "$(id -u)" -ne 0 ]]; then
		die "missing ${missing[*]}: install them with 'sudo apt-get install -y --no-install-recommends ${missing[*]}' (Debian/Ubuntu) and run this again"
	fi
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available; install them with your package manager"
	log "installing ${missing[*]} with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Go tools ---------------------------------------------------------------------------------
build_pulumi() {
	local out="$1"
	cd "$tools_mod"
	export GOWORK=off CGO_ENABLED=0
	local pulumi_version
	pulumi_version="$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
	log "downloading modules (pulumi $pulumi_version)"
	go mod download
	# Without the version stamped in, the CLI reports v0.0.0 and the Automation API refuses it as
	# older than its minimum.
	log "building pulumi $pulumi_version (the slow part: minutes on a cold cache)"
	go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
		-o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
	local got
	got="$(PULUMI_SKIP_UPDATE_CHECK=true "$out/pulumi" version)"
	[[ "$got" == "$pulumi_version" ]] || die "built pulumi reports '$got', want '$pulumi_version'"
}

# go install with @version builds each tool from its own module, outside tools/pulumi's graph.
build_linters() {
	local out="$1"
	export GOWORK=off CGO_ENABLED=0
	log "building actionlint $actionlint_version and kube-score $kube_score_version"
	cd "$out"
	GOBIN="$out" go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
	# kube-score prints the version its release build stamps into main.version.
	GOBIN="$out" go install -trimpath -ldflags "-s -w -X main.version=${kube_score_version#v}" \
		"github.com/zegl/kube-score/cmd/kube-score@$kube_score_version"
	local got
	got="$("$out/actionlint" -version | head -n1)"
	[[ "$got" == "${actionlint_version}"* || "$got" == "${actionlint_version#v}"* ]] ||
		die "built actionlint reports '$got', want $actionlint_version"
	got="$("$out/kube-score" version 2>&1 | head -n1)"
	[[ "$got" == *"${kube_score_version#v}"* ]] || die "built kube-score reports '$got', want $kube_score_version"
}

cached_tool pulumi "$(cache_key pulumi "recipe $recipe" "$tools_mod/go.mod" "$tools_mod/go.sum")" build_pulumi pulumi
cached_tool linters "$(cache_key linters "recipe $recipe" "$actionlint_version" "$kube_score_version")" build_linters actionlint kube-score
