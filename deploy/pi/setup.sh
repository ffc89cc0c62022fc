#!/usr/bin/env bash
# Set up a laundry room's Raspberry Pi for the KY Wash edge agent. Run as root; safe to run
# again (to upgrade the package or replace the config): every step checks or overwrites.
#
#   sudo deploy/pi/setup.sh --source SPEC --config room.toml [--ca ca.crt] [--dry-run]
#
#   --source SPEC  what to pip-install as kywash[pi]: a wheel (kywash-0.1.0-py3-none-any.whl),
#                  a source directory (a clone), or a URL (git+https://host/kywash.git@v0.1.0)
#   --config FILE  the room's config, as `kywash provision room` wrote it (holds the broker
#                  password: installed 0600 for the kywash user)
#   --ca FILE      the broker's CA certificate (default: ca.crt beside the config, if there)
#   --unit FILE    the systemd unit (default: deploy/systemd/kywash-edge.service beside this script)
#   --no-start     install and enable the unit, but do not (re)start the agent now
#   --dry-run      print the commands that change the system instead of running them
#
# What it does: a `kywash` system user in the gpio and dialout groups; a virtual environment
# in /opt/kywash/venv with kywash[pi]; /etc/kywash/room.toml and /etc/kywash/ca.crt;
# /var/lib/kywash (the outbox); the config checked by the agent's own loader; the unit
# installed, enabled and (re)started.
set -euo pipefail

USER_NAME=kywash
PREFIX=/opt/kywash
VENV=$PREFIX/venv
ETC=/etc/kywash
STATE=/var/lib/kywash
UNIT_DIR=/etc/systemd/system
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

source_spec=""
config=""
ca=""
unit="$SCRIPT_DIR/../systemd/kywash-edge.service"
dry_run=0
start=1

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
  echo "setup.sh: $*" >&2
  exit 2
}

# run CMD...: run it, or under --dry-run print it (shell-quoted) and carry on.
run() {
  if [ "$dry_run" = 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --source) source_spec=${2:?--source needs a value}; shift 2 ;;
      --config) config=${2:?--config needs a value}; shift 2 ;;
      --ca) ca=${2:?--ca needs a value}; shift 2 ;;
      --unit) unit=${2:?--unit needs a value}; shift 2 ;;
      --no-start) start=0; shift ;;
      --dry-run) dry_run=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown argument: $1 (see --help)" ;;
    esac
  done
  [ -n "$source_spec" ] || die "--source is required (a wheel, a source directory or a git+https URL)"
  [ -n "$config" ] || die "--config is required (the room.toml from \`kywash provision room\`)"
  [ -f "$config" ] || die "no such config file: $config"
  [ -f "$unit" ] || die "no such unit file: $unit"
  if [ -z "$ca" ] && [ -f "$(dirname "$config")/ca.crt" ]; then
    ca="$(dirname "$config")/ca.crt"
  fi
  if [ -n "$ca" ] && [ ! -f "$ca" ]; then
    die "no such CA certificate: $ca"
  fi
  requirement "$source_spec" >/dev/null  # a missing wheel stops here, before anything changes
  if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo), or with --dry-run to see the commands"
  fi
}

# The pip requirement for SPEC with the Pi's extra: URLs as direct references, files by path.
requirement() {
  case "$1" in
    git+* | http://* | https://* | file://*) printf 'kywash[pi] @ %s' "$1" ;;
    *)
      if [ -d "$1" ]; then
        printf '%s[pi]' "$(cd "$1" && pwd)"
      elif [ -f "$1" ]; then
        printf '%s[pi]' "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
      else
        die "no such wheel or directory: $1"
      fi
      ;;
  esac
}

create_user() {
  local group
  for group in gpio dialout; do  # Raspberry Pi OS has both; other systems may lack gpio
    getent group "$group" >/dev/null || run groupadd --system "$group"
  done
  if id -u "$USER_NAME" >/dev/null 2>&1; then
    run usermod --append --groups gpio,dialout "$USER_NAME"
  else
    run useradd --system --user-group --groups gpio,dialout --home-dir "$STATE" \
      --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  fi
}

install_package() {
  local req
  req=$(requirement "$source_spec")
  # Owned by root: the agent runs the code but cannot change it.
  [ -x "$VENV/bin/python" ] || run python3 -m venv "$VENV"
  run "$VENV/bin/pip" install --quiet --upgrade pip
  run "$VENV/bin/pip" install --upgrade "$req"
}

install_config() {
  run install -d -m 0750 -o root -g "$USER_NAME" "$ETC"
  run install -m 0600 -o "$USER_NAME" -g "$USER_NAME" "$config" "$ETC/room.toml"
  if [ -n "$ca" ]; then
    run install -m 0644 -o root -g root "$ca" "$ETC/ca.crt"
  fi
  run install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$STATE"
  # The agent's own loader, as the agent's user: a bad field stops here, named, not in a restart loop.
  run runuser -u "$USER_NAME" -- "$VENV/bin/python" -c \
    'import sys; from edge.config import load_room_config; load_room_config(sys.argv[1])' "$ETC/room.toml"
}

install_unit() {
  run install -m 0644 "$unit" "$UNIT_DIR/kywash-edge.service"
  run systemctl daemon-reload
  run systemctl enable kywash-edge.service
  if [ "$start" = 1 ]; then
    run systemctl restart kywash-edge.service  # starts it, or picks up new code and config
  fi
}

main() {
  parse_args "$@"
  create_user
  install_package
  install_config
  install_unit
  if [ "$dry_run" = 0 ]; then
    echo "KY Wash edge installed. Watch it: journalctl -u kywash-edge -f"
    echo "  sudo -u $USER_NAME $VENV/bin/kywash edge status --config $ETC/room.toml"
  fi
}

main "$@"
