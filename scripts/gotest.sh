#!/usr/bin/env bash
# gotest.sh: `go test`, with each package's test binary kept between runs.
#
#   scripts/gotest.sh build                          build the test binary of every package with tests
#   scripts/gotest.sh run [-j N] [PKGDIR...] -- FLAG...
#                                                    run those packages' binaries (default: every
#                                                    package with tests), N at a time (default 2)
#   scripts/gotest.sh why DIR [SKIP]                 print why the tests whose logs are in DIR failed
#
# `go test` links every test binary again on every run, even when nothing changed, and the
# binaries that import the AWS and Kubernetes SDKs take 5-8 s of CPU each to link: most of the
# CPU of a warm run. `go test -c -o DIR/` skips the link of a binary already in DIR that was
# built from the same inputs (its build ID says so), so `build` keeps the binaries where the
# next run finds them: $OUTSIDE_IN_TEST_BINARIES, default .tools/test. A binary is named after
# the last element of its package's path, so two packages of one name (check and cmd/check)
# go to two folders: .tools/test/0/check.test and .tools/test/1/check.test. Binaries link
# without DWARF and the symbol table (-ldflags='-s -w'): a quarter less work per link and a
# third less disk (2.3 GB for all of them); a panic still prints its stack, a debugger needs a
# `go test -c` of its own.
#
# `run` runs each binary in its package's directory, as `go test` does, with FLAGs (the test
# binary's own: -test.run, -test.v, ...; -test.paniconexit0 is always given, as `go test`
# gives it). Per package it prints `ok` or `FAIL` with the time, as `go test` does, and the
# binary's output when it fails or when -test.v is among the FLAGs. It exits 1 when a package
# fails, and 2 when a package has no binary (`build` first). With $OUTSIDE_IN_TEST_FAILURES set
# to a folder, it keeps there the whole output of each package that failed.
#
# `why` prints, from those outputs, each failed test with its own lines and nothing of the
# tests that passed (with -test.v, parallel tests' lines interleave, each run headed by
# `=== NAME`), the lines matching the extended regular expression SKIP left out, and at most
# the last 60 lines of each; then the first lines of a panic or a timeout. A long verbose run
# buries why it failed far above its end, where a report that shows only the tail of the
# output never reaches; `make test` ends with this.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bins=${OUTSIDE_IN_TEST_BINARIES:-$root/.tools/test}

# why DIR [SKIP]: see above. It needs no package list, so it runs before one is made.
if [ "${1:-}" = why ]; then
	[ -d "${2:-}" ] || exit 0
	for log in "$2"/*.log; do
		[ -e "$log" ] || continue
		awk -v keep=60 -v skip="${3:-}" '
			/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
			# Without -test.v a test'"'"'s lines follow its --- line.
			/^ *--- (FAIL|PASS|SKIP): / {
				if ($2 == "FAIL:") { failed[++nf] = $3; status[$3] = $0 }
				cur = $3
				next
			}
			/^(panic: |fatal error: )/ { panicked = 1 }
			panicked { if (++np <= 12) panic[np] = $0; next }
			/^(FAIL|PASS|ok)$/ { next }
			skip != "" && $0 ~ skip { next }
			{ n[cur]++; out[cur, n[cur]] = $0 }
			END {
				for (i = 1; i <= nf; i++) {
					name = failed[i]
					if (n[name] == 0) continue
					sub(/^ +/, "", status[name])
					print status[name]
					first = n[name] > keep ? n[name] - keep + 1 : 1
					if (first > 1) printf "    (%d lines before these left out)\n", first - 1
					for (j = first; j <= n[name]; j++) print out[name, j]
				}
				for (j = 1; j <= np; j++) print panic[j]
			}' "$log"
	done
	exit 0
fi

module=$(go list -m)

# layout prints, for every package with test files, its directory (./x/y) and its binary.
layout() {
	local dir base
	declare -A seen=()
	while read -r dir; do
		base=$(basename "$dir")
		printf '%s\t%s/%d/%s.test\n' "$dir" "$bins" "${seen[$base]:-0}" "$base"
		seen[$base]=$((${seen[$base]:-0} + 1))
	done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' ./... | sed "s|^$root|.|")
}

declare -A binary=()
pkgs=()
while IFS=$'\t' read -r dir bin; do
	binary[$dir]=$bin
	pkgs+=("$dir")
done < <(layout)

case "${1:-}" in
build)
	# One `go test -c` per folder: one load of the package graph for most packages.
	for group in $(printf '%s\n' "${binary[@]}" | xargs -n 1 dirname | sort -u); do
		members=()
		for p in "${pkgs[@]}"; do
			if [ "$(dirname "${binary[$p]}")" = "$group" ]; then
				members+=("$p")
			fi
		done
		mkdir -p "$group"
		go test -c -ldflags='-s -w' -o "$group/" "${members[@]}"
	done
	;;
run)
	shift
	jobs=2
	if [ "${1:-}" = -j ]; then
		jobs=$2
		shift 2
	fi
	chosen=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		chosen+=("./${1#./}")
		shift
	done
	[ "${1:-}" = -- ] && shift
	if [ ${#chosen[@]} -eq 0 ]; then
		chosen=("${pkgs[@]}")
	fi
	# The longest first (as their last run with these FLAGs took, kept in $bins/durations.*),
	# so that a long one does not start last and run alone.
	durations=$bins/durations.$(printf '%s\n' "$@" | cksum | cut -d' ' -f1)
	if [ -s "$durations" ]; then
		mapfile -t chosen < <(printf '%s\n' "${chosen[@]}" |
			awk 'NR == FNR { took[$1] = $2; next } { print (($1 in took) ? took[$1] : 0) "\t" $1 }' "$durations" - |
			sort -t$'\t' -k1,1gr -s | cut -f2)
	fi
	verbose=false
	for f in "$@"; do
		case $f in -test.v | -test.v=true) verbose=true ;; esac
	done
	runs=()
	for p in "${chosen[@]}"; do
		bin=${binary[$p]:-}
		if [ -z "$bin" ] || [ ! -x "$bin" ]; then
			echo "gotest.sh: no test binary for $p${bin:+ at $bin}: run scripts/gotest.sh build first" >&2
			exit 2
		fi
		runs+=("$p" "$bin")
	done
	logs=$(mktemp -d)
	trap 'rm -rf "$logs"' EXIT
	export logs module verbose root
	# one PKGDIR BINARY: runs one package's binary with the FLAGs (kept in $logs/flags), then
	# prints its report under a lock, so that two reports never interleave.
	one() {
		local rel=${1#./} bin=$2 log start rc=0 secs flags
		mapfile -d '' -t flags <"$logs/flags"
		log=$logs/${rel//\//_}.log
		start=$(date +%s.%N)
		(cd "$root/$rel" && exec "$bin" -test.paniconexit0 "${flags[@]}") >"$log" 2>&1 || rc=$?
		secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
		{
			flock 9
			if [ "$rc" -ne 0 ] || [ "$verbose" = true ]; then
				cat "$log"
			fi
			printf '%s %s\n' "$1" "$secs" >>"$logs/durations"
			if [ "$rc" -eq 0 ]; then
				printf 'ok  \t%s\t%ss\n' "$module/$rel" "$secs"
			else
				printf 'FAIL\t%s\t%ss\n' "$module/$rel" "$secs"
				touch "$logs/failed"
				if [ -n "${OUTSIDE_IN_TEST_FAILURES:-}" ]; then
					mkdir -p "$OUTSIDE_IN_TEST_FAILURES"
					cp "$log" "$OUTSIDE_IN_TEST_FAILURES/${rel//\//_}.$(cksum <"$logs/flags" | cut -d' ' -f1).log"
				fi
			fi
		} 9>"$logs/lock"
	}
	export -f one
	if [ $# -gt 0 ]; then
		printf '%s\0' "$@" >"$logs/flags"
	else
		: >"$logs/flags"
	fi
	printf '%s\0' "${runs[@]}" | xargs -0 -n 2 -P "$jobs" bash -c 'one "$@"' bash
	touch "$durations"
	awk '{ took[$1] = $2 } END { for (p in took) print p, took[p] }' "$durations" "$logs/durations" >"$logs/merged"
	mv "$logs/merged" "$durations"
	if [ -e "$logs/failed" ]; then
		exit 1
	fi
	;;
*)
	echo "usage: scripts/gotest.sh build | run [-j N] [PKGDIR...] -- TESTFLAG... | why DIR [SKIP]" >&2
	exit 2
	;;
esac
