#!/usr/bin/env bash
# Sourced by the install-*.sh scripts: one shared, per-machine cache of built tools.
#
# Every tool is built once per machine into
#   ${OUTSIDE_IN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outside-in/tools}/<name>/<key>/
# where <key> hashes everything that decides the binary (module pins, recipe, Go version), so
# a second clone, or a later checkout with the same pins, reuses it; a change of pin builds a
# new entry beside the old. The clone's .tools/bin holds symlinks into the cache, which is where
# the tests look.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${OUTSIDE_IN_BIN:-$repo_root/.tools/bin}"
cache_root="${OUTSIDE_IN_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outside-in/tools}"

log() { printf '%s: %s\n' "${tool_log_name:-tools}" "$*"; }
die() {
	log "error: $*"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH"
mkdir -p "$bin_dir" "$cache_root"

# cache_key NAME INPUT... prints the key for NAME built from the given inputs (strings or
# files); the Go version is always part of it.
cache_key() {
	local name="$1"
	shift
	{
		go env GOVERSION GOOS GOARCH
		local x
		for x in "$@"; do
			if [[ -f "$x" ]]; then cat "$x"; else printf '%s\n' "$x"; fi
		done
	} | sha256sum | cut -c1-16
}

# cached_tool NAME KEY BUILD_FUNCTION BINARY...: when the cache holds NAME/KEY with every BINARY,
# links them into bin_dir; otherwise runs BUILD_FUNCTION in a subshell with the output folder as
# $1 and an empty scratch folder as $2 (under an exclusive lock, so two clones building at once
# build it once), removes the scratch folder and then links them.
#
# With OUTSIDE_IN_TOOLS_KEYS=1 it only prints "NAME KEY" and builds and links nothing: CI keys
# its cache of this folder by exactly these keys (scripts/build-tools.sh --keys).
cached_tool() {
	local name="$1" key="$2" build="$3"
	shift 3
	if [[ "${OUTSIDE_IN_TOOLS_KEYS:-}" == 1 ]]; then
		printf '%s %s\n' "$name" "$key"
		return
	fi
	local dir="$cache_root/$name/$key"
	have() {
		local b
		[[ -f "$dir/.complete" ]] || return 1
		for b in "$@"; do [[ -x "$dir/$b" ]] || return 1; done
	}
	if ! have "$@"; then
		mkdir -p "$cache_root/$name"
		exec {lockfd}>"$cache_root/$name/.lock"
		flock "$lockfd"
		if ! have "$@"; then
			local tmp scratch
			tmp="$(mktemp -d "$cache_root/$name/.build.XXXXXX")"
			scratch="$(mktemp -d "${OUTSIDE_IN_TOOLS_SCRATCH:-${TMPDIR:-/tmp}}/outside-in-build.XXXXXX")"
			mkdir -p "$scratch/work" "$scratch/gomodcache" "$scratch/gocache"
			local start=$SECONDS
			# The build's modules and compiled packages live in the scratch folder and go with it:
			# a tool's build cache is of no use once its binary is in the tool cache, and keeping
			# it would fill a small runner's disk (a cold build of every tool compiles about
			# 18 GB of packages). The project's own module and build caches are left alone.
			if ! (GOMODCACHE="$scratch/gomodcache" GOCACHE="$scratch/gocache" "$build" "$tmp" "$scratch/work"); then
				chmod -R u+w "$scratch" 2>/dev/null || true
				rm -rf "$tmp" "$scratch"
				die "building $name failed"
			fi
			chmod -R u+w "$scratch" 2>/dev/null || true
			rm -rf "$scratch"
			rm -rf "$dir"
			touch "$tmp/.complete"
			mv "$tmp" "$dir"
			log "built $name into $dir in $((SECONDS - start))s"
		fi
		flock -u "$lockfd"
	else
		log "$name: cached in $dir"
	fi
	local b
	for b in "$@"; do ln -sfn "$dir/$b" "$bin_dir/$b"; done
}
