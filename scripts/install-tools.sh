#!/usr/bin/env bash
# Installs the command-line tools the lifecycle, workflow and user-data checks run:
#
#   pulumi       the Pulumi CLI, built from github.com/pulumi/pulumi/pkg/v3 (pinned in
#                tools/pulumi/go.mod); internal/envlife and cmd/env drive it on a file backend
#   actionlint   github.com/rhysd/actionlint (pinned below); cmd/env lints .github/workflows
#   kube-score   github.com/zegl/kube-score (pinned below); scores the Kubernetes objects
#   and from Debian: the shellcheck and cloud-init commands, which check the k3s user data
#
# The Go tools go into <repo>/.tools/bin, where the tests look for them. Idempotent: when
# the binaries are present and the stamp file matches tools/pulumi/go.mod, go.sum and the
# recipe below (versions and flags), nothing is built. Needs Go and the Go module proxy; a cold
# build of the Pulumi CLI took 19 minutes on 2 cores shared with other builds (an empty build
# cache, modules already downloaded); the log says how long it took.
#
# The Debian packages are installed with apt-get when missing and running as root; otherwise
# the script stops and names the packages to install.
#
# Usage: scripts/install-tools.sh [--force]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_mod="$repo_root/tools/pulumi"
bin_dir="$repo_root/.tools/bin"
stamp="$bin_dir/.tools.stamp"
force=0
if [[ "${1:-}" == "--force" ]]; then force=1; fi

# Pins of the tools that `go install pkg@version` builds straight from their own modules (they
# have no replace directives, so their go.mod alone decides their dependencies).
actionlint_version=v1.7.12
kube_score_version=v1.20.0
# Bump when the build recipe below (flags, binaries) changes.
recipe=1

log() { printf 'install-tools: %s\n' "$*"; }
die() {
	log "error: $*"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH"

# --- Debian packages --------------------------------------------------------------------------
# Checked on every run: they live outside .tools, so the stamp cannot vouch for them.
missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
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
mkdir -p "$bin_dir"

# The stamp identifies what is installed: the CLI's pinned module graph plus the recipe (which
# holds the other tools' versions). A change to either forces a rebuild.
want_stamp="recipe-$recipe-$actionlint_version-$kube_score_version-$(cat "$tools_mod/go.mod" "$tools_mod/go.sum" | sha256sum | cut -d' ' -f1)"

up_to_date() {
	[[ -x "$bin_dir/pulumi" && -x "$bin_dir/actionlint" && -x "$bin_dir/kube-score" && -f "$stamp" ]] &&
		[[ "$(head -n1 "$stamp")" == "$want_stamp" ]]
}

if [[ $force -eq 0 ]] && up_to_date; then
	log "up to date in $bin_dir ($(sed -n 2p "$stamp"))"
	exit 0
fi

# Serialise concurrent runs (parallel make targets, two test binaries) on the same bin dir.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$bin_dir/.tools.lock"
	flock 9
	if [[ $force -eq 0 ]] && up_to_date; then
		log "up to date in $bin_dir (built by a concurrent run)"
		exit 0
	fi
fi

start=$SECONDS
cd "$tools_mod"
export GOWORK=off CGO_ENABLED=0

pulumi_version="$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
log "downloading modules (pulumi $pulumi_version)"
go mod download

tmp_dir="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$tmp_dir"' EXIT

# Without the version stamped in, the CLI reports v0.0.0 (or nothing) and the Automation API
# refuses it as older than its minimum.
vpkg=github.com/pulumi/pulumi/sdk/v3/go/common/version
log "building pulumi $pulumi_version (the slow part: minutes on a cold cache)"
t=$SECONDS
go build -trimpath -ldflags "-s -w -X $vpkg.Version=$pulumi_version" -o "$tmp_dir/pulumi" \
	github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
log "built pulumi in $((SECONDS - t))s"

# go install with @version builds each tool from its own module, outside tools/pulumi's graph.
log "building actionlint $actionlint_version and kube-score $kube_score_version"
(
	cd "$tmp_dir"
	GOBIN="$tmp_dir" go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
	# kube-score prints the version its release build stamps into main.version.
	GOBIN="$tmp_dir" go install -trimpath -ldflags "-s -w -X main.version=${kube_score_version#v}" \
		"github.com/zegl/kube-score/cmd/kube-score@$kube_score_version"
)

got="$(PULUMI_SKIP_UPDATE_CHECK=true "$tmp_dir/pulumi" version)"
[[ "$got" == "$pulumi_version" ]] || die "built pulumi reports '$got', want '$pulumi_version'"
got="$("$tmp_dir/actionlint" -version | head -n1)"
[[ "$got" == "${actionlint_version}"* || "$got" == "${actionlint_version#v}"* ]] ||
	die "built actionlint reports '$got', want $actionlint_version"
got="$("$tmp_dir/kube-score" version 2>&1 | head -n1)"
[[ "$got" == *"${kube_score_version#v}"* ]] || die "built kube-score reports '$got', want $kube_score_version"

mv -f "$tmp_dir/pulumi" "$tmp_dir/actionlint" "$tmp_dir/kube-score" "$bin_dir/"
printf '%s\npulumi %s, actionlint %s, kube-score %s\n' "$want_stamp" "$pulumi_version" \
	"$actionlint_version" "$kube_score_version" >"$stamp"
log "installed pulumi $pulumi_version, actionlint $actionlint_version and kube-score $kube_score_version into $bin_dir in $((SECONDS - start))s"
