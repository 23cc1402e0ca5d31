#!/bin/sh
# with-keyring.sh CMD [ARGS...]
# Runs CMD inside a private D-Bus session bus with an unlocked gnome-keyring Secret Service.
# Keyring files live in a throwaway dir: the developer's real keyring is never touched.
# Exit status is CMD's.
set -eu
KEYRING_TMP="$(mktemp -d)"
export KEYRING_TMP
trap 'rm -rf "$KEYRING_TMP"' EXIT
dbus-run-session -- sh -c '
  set -eu
  mkdir -p -m 700 "$KEYRING_TMP/run" "$KEYRING_TMP/data"
  printf %s "${KEYRING_PASSWORD:-ci-keyring-pw}" |
    XDG_RUNTIME_DIR="$KEYRING_TMP/run" XDG_DATA_HOME="$KEYRING_TMP/data" \
    gnome-keyring-daemon --unlock --components=secrets >/dev/null
  # The daemon forks; wait until it owns org.freedesktop.secrets on this bus.
  kpid=""
  for _ in $(seq 1 50); do
    kpid="$(dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus / \
            org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets 2>/dev/null | awk "{print \$2}")"
    [ -n "$kpid" ] && break
    sleep 0.1
  done
  if [ -z "$kpid" ]; then echo "with-keyring: gnome-keyring did not start a Secret Service" >&2; exit 1; fi
  export LOOPIQ_TEST_KEYRING=1
  rc=0; "$@" || rc=$?
  # gnome-keyring-daemon sometimes outlives the bus: stop it by PID.
  [ -n "$kpid" ] && kill "$kpid" 2>/dev/null || true
  exit "$rc"' sh "$@"
