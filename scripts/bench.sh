#!/usr/bin/env bash
# `npm run bench`: build the CLI and the benchmark, then run it (in a private keyring session when
# gnome-keyring is installed, so the keychain figures are real).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsup --silent
npx tsup bench/run.ts --no-config --format esm --platform node --target node20 --out-dir .bench --silent
if command -v gnome-keyring-daemon >/dev/null && command -v dbus-run-session >/dev/null; then
  exec bash scripts/with-keyring.sh node .bench/run.js
fi
exec node .bench/run.js
