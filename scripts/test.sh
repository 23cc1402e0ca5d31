#!/usr/bin/env bash
# The test command (`npm test`): build, then run the suite inside a private keyring session.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1

# A Secret Service for the keychain tests; tmux as "the user's own terminal" for approval tests.
if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null || ! command -v tmux >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing dbus, gnome-keyring and tmux (needed by the keychain and terminal tests)..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dbus gnome-keyring tmux >/dev/null
  else
    echo "test: the keychain and terminal tests need a Secret Service and tmux. Install them first:" >&2
    echo "  sudo apt-get install -y --no-install-recommends dbus gnome-keyring tmux" >&2
    exit 1
  fi
fi

npm run --silent build >/dev/null
exec bash scripts/with-keyring.sh npx vitest run "$@"
