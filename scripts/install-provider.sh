#!/usr/bin/env bash
# Builds pulumi-resource-kubernetes, the pulumi-kubernetes provider the environment tests run
# under the real Pulumi engine, from its Go module, and installs it into the shared tool cache
# (scripts/toolcache.sh), linked as .tools/bin/pulumi-resource-kubernetes.
#
# Why a recipe and not `go install`: the module proxy serves
# github.com/pulumi/pulumi-kubernetes/provider/v4 only as the pseudo-version below (every tagged
# version is refused), and that module cannot be built as it is served: its go.mod replaces
# sdk/v4 with ../sdk (a folder of its repository that the module does not hold), and its main
# package embeds schema-embed.json, which its own generate.go writes from schema.json. So: copy
# the module out of the module cache, drop the replace (the sdk then comes from the proxy at the
# version go.mod requires), run the module's own generate step, build with the version stamped.
#
# The commit is from 2026-01-15, a day before sdk/v4.25.0 was tagged (2026-01-16): it is that
# release's provider. The program's go.mod requires sdk/v4 v4.25.0, so the provider is stamped
# 4.25.0, the plugin version that SDK asks the engine for. (The provider's own go.mod requires
# sdk/v4 v4.24.0 for a few shared types; without the replace that is the version it builds with.) Cold: about 17 minutes on 2 cores and 5 GB of memory; the binary is stripped (~300 MB).
#
# Usage: scripts/install-provider.sh
tool_log_name=install-provider
source "$(dirname "${BASH_SOURCE[0]}")/toolcache.sh"

provider_module=github.com/pulumi/pulumi-kubernetes/provider/v4
provider_pseudo=v4.0.0-20260115033456-f47bc2d6f199
# The plugin version the program's SDK (go.mod: pulumi-kubernetes/sdk/v4) asks the engine for.
provider_version="$(cd "$repo_root" && GOWORK=off go list -m -f '{{.Version}}' github.com/pulumi/pulumi-kubernetes/sdk/v4)"
provider_version="${provider_version#v}"
recipe=1

build_provider() {
	local out="$1" work="$2"
	export GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
	local src
	src="$(cd "$work" && go mod download -json "$provider_module@$provider_pseudo" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -d "$src" ]] || die "the module proxy did not give $provider_module@$provider_pseudo"
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	cd "$work"
	go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4
	go mod download github.com/pulumi/pulumi-kubernetes/sdk/v4
	(cd cmd/pulumi-resource-kubernetes && VERSION="$provider_version" go run ./generate.go)
	log "building pulumi-resource-kubernetes $provider_version (the slow part: ~17 minutes cold)"
	go build -trimpath -ldflags "-s -w -X $provider_module/pkg/version.Version=$provider_version" \
		-o "$out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
	printf '%s\n' "$provider_version" >"$out/VERSION"
}

key="$(cache_key pulumi-resource-kubernetes "$provider_module@$provider_pseudo" "$provider_version" "recipe $recipe")"
cached_tool pulumi-resource-kubernetes "$key" build_provider pulumi-resource-kubernetes
