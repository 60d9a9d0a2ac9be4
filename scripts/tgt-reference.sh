#!/usr/bin/env bash
# A private tgtd (Debian package `tgt`) serving one file-backed disk LUN on 127.0.0.1, with tgt's
# default settings: the reference target that peer tests compare the gateway against.
#
#   scripts/tgt-reference.sh start [--size BYTES] [--block-size BYTES] [--dir DIR]
#       Starts tgtd on a free port and a free control port and prints KEY=VALUE lines:
#       TGT_DIR, TGT_PID, TGT_CONTROL_PORT, TGT_PORTAL, TGT_IQN, TGT_LUN, TGT_URL.
#       DIR (default: a new temporary directory) holds the disk image, tgtd's log and tgt.env.
#   scripts/tgt-reference.sh stop DIR
#       Stops that tgtd through its own control port, else SIGKILL by its PID (tgtd ignores
#       SIGTERM), and removes DIR if start created it.
set -euo pipefail

readonly IQN=iqn.2026-11.org.tgt-reference:disk
readonly LUN=1
readonly SOCKET_DIR=/var/run/tgtd

die() { echo "tgt-reference: $*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package tgt"
}

port_in_use() {
  [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
}

alive() {
  # A zombie still answers kill -0; it is gone all the same.
  [[ -r /proc/$1/stat ]] && [[ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]]
}

start() {
  local size=$((64 * 1024 * 1024)) block_size=512 dir='' created=0
  while (($#)); do
    case "$1" in
      --size) size="$2"; shift 2 ;;
      --block-size) block_size="$2"; shift 2 ;;
      --dir) dir="$2"; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  need tgtd; need tgtadm; need ss
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d /tmp/tgt-reference.XXXXXX)"
    created=1
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  truncate -s "$size" "$dir/disk.img"

  local attempt port control pid=''
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 10000))
    control=$((1000 + RANDOM % 30000)) # tgtd takes at most 32767
    port_in_use "$port" && continue
    [[ -e "$SOCKET_DIR/socket.$control" ]] && continue
    setsid tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" \
      >"$dir/tgtd.log" 2>&1 </dev/null &
    pid=$!
    local waited
    for waited in $(seq 50); do
      if ! alive "$pid"; then break; fi
      if port_in_use "$port" && tgtadm -C "$control" --op show --mode system >/dev/null 2>&1; then
        break 2
      fi
      sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$SOCKET_DIR/socket.$control" "$SOCKET_DIR/socket.$control.lock"
    pid=''
  done
  [[ -n "$pid" ]] || die "tgtd did not start; see $dir/tgtd.log"

  cat >"$dir/tgt.env" <<EOF
TGT_DIR=$dir
TGT_PID=$pid
TGT_CONTROL_PORT=$control
TGT_PORTAL=127.0.0.1:$port
TGT_IQN=$IQN
TGT_LUN=$LUN
TGT_URL=iscsi://127.0.0.1:$port/$IQN/$LUN
TGT_CREATED_DIR=$created
EOF
  if ! {
    tgtadm -C "$control" --lld iscsi --op new --mode target --tid 1 -T "$IQN" &&
      tgtadm -C "$control" --lld iscsi --op new --mode logicalunit --tid 1 --lun "$LUN" \
        -b "$dir/disk.img" --blocksize "$block_size" &&
      tgtadm -C "$control" --lld iscsi --op bind --mode target --tid 1 -I ALL
  } >>"$dir/tgtd.log" 2>&1; then
    stop "$dir"
    die "tgtadm could not configure the target"
  fi
  grep -v '^TGT_CREATED_DIR=' "$dir/tgt.env"
}

stop() {
  local dir="${1:?usage: tgt-reference.sh stop DIR}"
  [[ -r "$dir/tgt.env" ]] || die "no $dir/tgt.env: not a directory made by tgt-reference.sh start"
  local TGT_PID TGT_CONTROL_PORT TGT_CREATED_DIR
  # shellcheck disable=SC1091
  source "$dir/tgt.env"
  if alive "$TGT_PID"; then
    # tgtd refuses to leave while a target exists; --force drops the target's sessions too.
    tgtadm -C "$TGT_CONTROL_PORT" --lld iscsi --op delete --mode target --tid 1 --force \
      >/dev/null 2>&1 || true
    tgtadm -C "$TGT_CONTROL_PORT" --op delete --mode system >/dev/null 2>&1 || true
    local waited
    for waited in $(seq 30); do
      alive "$TGT_PID" || break
      sleep 0.1
    done
    if alive "$TGT_PID"; then kill -KILL "$TGT_PID" 2>/dev/null || true; fi
  fi
  rm -f "$SOCKET_DIR/socket.$TGT_CONTROL_PORT" "$SOCKET_DIR/socket.$TGT_CONTROL_PORT.lock"
  if [[ "$TGT_CREATED_DIR" == 1 ]]; then rm -rf "$dir"; fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [--size BYTES] [--block-size BYTES] [--dir DIR] | stop DIR" >&2; exit 2 ;;
esac
