#!/usr/bin/env bash
# The test command (`npm test`): build, then run the suite inside a private keyring session.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1

if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing dbus and gnome-keyring (needed for the keychain tests)..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dbus gnome-keyring >/dev/null
  else
    echo "test: the keychain tests need a Secret Service. Install it first:" >&2
    echo "  sudo apt-get install -y --no-install-recommends dbus gnome-keyring" >&2
    exit 1
  fi
fi

npm run --silent build >/dev/null
exec bash scripts/with-keyring.sh npx vitest run "$@"
