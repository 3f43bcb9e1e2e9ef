#!/usr/bin/env bash
# Runs the tool installers (scripts/install-*.sh), side by side only as far as the machine's
# memory allows, so that a cold build fits a small runner.
#
# Each installer has a declared peak below: the most memory its build holds at once, measured on
# a cold build (its largest process, a link, under /usr/bin/time). An installer starts only while
# the peaks of those running plus its own stay within the budget; the first always starts. The
# budget is OUTSIDE_IN_TOOLS_MEMORY_MB when set, otherwise MemAvailable (from /proc/meminfo) less
# 1 GiB for everything else on the machine. On a 7 GB runner the provider (the largest link)
# therefore builds alone; on 24 GB everything builds at once. A cached tool's installer only
# links it, in well under a second, whatever the budget.
#
# Prints, for each installer, when it started, how long it ran, its peak resident memory and the
# CPU time it took (user and system).
#
# Usage: scripts/build-tools.sh            (make tools)
#        OUTSIDE_IN_TOOLS_MEMORY_MB=5800 scripts/build-tools.sh
#        scripts/build-tools.sh --keys     the tool cache's entries, "NAME KEY" a line, building
#                                          nothing: CI keys its cache of the folder by them
#        scripts/build-tools.sh --cache-dir  the folder the tools are built into
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

case "${1:-}" in
--keys | --cache-dir)
	# The installers link nothing in these modes; their bin folder is a throwaway.
	OUTSIDE_IN_BIN="$(mktemp -d)"
	export OUTSIDE_IN_BIN
	trap 'rm -rf "$OUTSIDE_IN_BIN"' EXIT
	if [[ "$1" == --cache-dir ]]; then
		(source ./toolcache.sh && echo "$cache_root")
		exit 0
	fi
	for s in install-tools install-kube-tools install-provider install-traefik install-iamsim; do
		OUTSIDE_IN_TOOLS_KEYS=1 "./$s.sh" | grep -v ': '
	done
	exit 0
	;;
"") ;;
*)
	echo "build-tools: unknown argument '$1' (allowed: --keys, --cache-dir, or none)" >&2
	exit 2
	;;
esac

# installer  peak MiB: the largest resident size measured on a cold build (README "Tools"),
# with about a tenth as margin; the provider's is the largest of two cold builds (4.0 and 5.4 GB:
# its link's heap varies with what the collector finds). The IAM evaluator's npm ci measured
# 118 MiB.
installers=(
	"install-provider 5600"
	"install-traefik 3300"
	"install-kube-tools 2200"
	"install-tools 2100"
	"install-moto 200"
	"install-iamsim 200"
)

# budget_mb prints the memory budget in MiB.
budget_mb() {
	local v="${OUTSIDE_IN_TOOLS_MEMORY_MB:-}"
	if [[ -n "$v" ]]; then
		if [[ ! "$v" =~ ^[0-9]+$ ]] || ((v < 256)); then
			echo "build-tools: OUTSIDE_IN_TOOLS_MEMORY_MB=\"$v\": must be a whole number of MiB, at least 256" >&2
			return 2
		fi
		echo "$v"
		return
	fi
	local avail_kb
	avail_kb="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || true)"
	if [[ -z "$avail_kb" ]]; then
		echo "build-tools: cannot read MemAvailable from /proc/meminfo; set OUTSIDE_IN_TOOLS_MEMORY_MB" >&2
		return 2
	fi
	local mb=$((avail_kb / 1024 - 1024))
	((mb > 256)) || mb=256
	echo "$mb"
}

budget="$(budget_mb)"
echo "build-tools: memory budget ${budget} MiB"

timer=()
[[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f '%M %U %S' -o)

declare -A running_peak=() running_name=() started=() statfile=()
pending=("${installers[@]}")
in_use=0
rc=0
stats_dir="$(mktemp -d)"
trap 'rm -rf "$stats_dir"' EXIT

start_one() {
	local name="$1" peak="$2"
	local stat="$stats_dir/$name"
	if ((${#timer[@]} > 0)); then
		"${timer[@]}" "$stat" "./$name.sh" &
	else
		"./$name.sh" &
	fi
	local pid=$!
	running_peak[$pid]=$peak
	running_name[$pid]=$name
	started[$pid]=$SECONDS
	statfile[$pid]=$stat
	in_use=$((in_use + peak))
	echo "build-tools: started $name (declared peak ${peak} MiB; ${in_use} of ${budget} MiB in use)"
}

while ((${#pending[@]} > 0 || ${#running_name[@]} > 0)); do
	# Start, in order, every pending installer that fits beside the running ones.
	left=()
	for entry in "${pending[@]}"; do
		read -r name peak <<<"$entry"
		if ((${#running_name[@]} == 0 || in_use + peak <= budget)); then
			start_one "$name" "$peak"
		else
			left+=("$entry")
		fi
	done
	pending=("${left[@]}")
	((${#running_name[@]} > 0)) || continue
	status=0
	wait -n -p done_pid "${!running_name[@]}" || status=$?
	name="${running_name[$done_pid]}"
	rss=""
	if [[ -s "${statfile[$done_pid]}" ]]; then
		read -r kb user sys < <(tail -n1 "${statfile[$done_pid]}")
		if [[ "$kb" =~ ^[0-9]+$ ]]; then
			rss=", peak resident $((kb / 1024)) MiB, CPU $(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%d", u + s}')s"
		fi
	fi
	if ((status != 0)); then
		echo "build-tools: scripts/$name.sh failed (exit $status)"
		rc=1
	else
		echo "build-tools: $name done in $((SECONDS - started[$done_pid]))s$rss"
	fi
	in_use=$((in_use - running_peak[$done_pid]))
	unset "running_peak[$done_pid]" "running_name[$done_pid]" "started[$done_pid]" "statfile[$done_pid]"
done
exit "$rc"
