#!/usr/bin/env bash
# Installs moto's AWS in server mode (moto_server), which the check package's tests start on a
# loopback port to answer Route 53, ACM, Elastic Load Balancing and EC2 as AWS would.
#
# Idempotent: when moto_server is on PATH or already in .tools/bin it does nothing, and never
# reaches a package index. Otherwise it installs the pinned moto with its server extra into a
# virtual environment of its own, .tools/moto (so no system Python is changed), and links
# .tools/bin/moto_server to it.
#
# Usage: scripts/install-moto.sh
set -euo pipefail

moto_version=5.2.1
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir="$repo_root/.tools/bin"
venv="$repo_root/.tools/moto"

if command -v moto_server >/dev/null 2>&1 || [[ -x "$bin_dir/moto_server" ]]; then
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "install-moto: no python3 on PATH; install Python 3.9 or newer (Debian: apt-get install python3 python3-venv), then rerun" >&2
	exit 1
fi
if ! python3 -m venv "$venv"; then
	echo "install-moto: python3 cannot make a virtual environment (Debian: apt-get install python3-venv), then rerun" >&2
	exit 1
fi
echo "install-moto: installing moto[server]==$moto_version into $venv" >&2
"$venv/bin/python" -m pip install --quiet "moto[server]==$moto_version"
mkdir -p "$bin_dir"
ln -sf "$venv/bin/moto_server" "$bin_dir/moto_server"
"$bin_dir/moto_server" --help >/dev/null
