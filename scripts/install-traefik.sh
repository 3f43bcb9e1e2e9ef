#!/usr/bin/env bash
# Builds Traefik, the ingress controller the platform runs, at the version the chart the
# program pins deploys (v3.7.11, chart 41.3.0), from its Go module, into the shared tool cache
# (scripts/toolcache.sh), linked as .tools/bin/traefik. The behaviour tests run it as a process
# against the test API server with the kubernetesIngress provider and the flags the chart
# renders from the program's values, so that Traefik itself reads every Ingress the program
# declares and publishes their status, which pulumi-kubernetes waits for.
#
# Why a recipe and not `go install`: Traefik's go.mod has replace directives, which
# `go install pkg@version` refuses, and two of them cannot be served as they are:
#   - github.com/traefik/traefik/dynamic/ext => ./pkg/config/dynamic/ext, a nested module the
#     module zip leaves out. In v3.7.11 its only use is two empty structs that
#     pkg/config/dynamic embeds (ext.HTTP, ext.Router); this script writes that module.
#   - github.com/abbot/go-http-auth => a containous fork at a commit the module proxy refuses;
#     the older commit of the same fork that the proxy serves is used instead (only the
#     basic/digest auth middlewares use it; the tests use neither).
# Cold: about 9 minutes on 2 cores and 3.3 GB of memory.
#
# Usage: scripts/install-traefik.sh
tool_log_name=install-traefik
source "$(dirname "${BASH_SOURCE[0]}")/toolcache.sh"

traefik_module=github.com/traefik/traefik/v3
traefik_version=v3.7.11
http_auth_fork=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e
recipe=1

build_traefik() {
	local out="$1" work="$2"
	export GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
	local src
	src="$(cd "$work" && go mod download -json "$traefik_module@$traefik_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	[[ -d "$src" ]] || die "the module proxy did not give $traefik_module@$traefik_version"
	cp -r "$src/." "$work/"
	chmod -R u+w "$work"
	cd "$work"
	mkdir -p pkg/config/dynamic/ext
	cat >pkg/config/dynamic/ext/go.mod <<'MOD'
module github.com/traefik/traefik/dynamic/ext

go 1.24
MOD
	cat >pkg/config/dynamic/ext/ext.go <<'GO'
// Package ext holds the extension points Traefik's dynamic configuration embeds; the open-source
// build has none.
package ext

// HTTP extends dynamic.HTTPConfiguration.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}
GO
	go mod edit -replace "github.com/abbot/go-http-auth=$http_auth_fork"
	go mod download
	log "building traefik $traefik_version (about 9 minutes cold)"
	go build -trimpath -ldflags "-s -w -X $traefik_module/pkg/version.Version=$traefik_version" \
		-o "$out/traefik" ./cmd/traefik
	local got
	got="$("$out/traefik" version 2>&1 | sed -n 's/^Version:[[:space:]]*//p')"
	[[ "$got" == "${traefik_version#v}" || "$got" == "$traefik_version" ]] || die "built traefik reports '$got', want $traefik_version"
}

cached_tool traefik "$(cache_key traefik "$traefik_module@$traefik_version" "$http_auth_fork" "recipe $recipe")" build_traefik traefik
