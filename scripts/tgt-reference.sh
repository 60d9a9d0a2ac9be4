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

die() { echo "tgt-reference: $*" >&2; exit 1; }
# shellcheck source=scripts/lib/tgtd.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tgtd.sh"

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

  tgtd_start "$dir"
  local pid=$TGTD_PID port=$TGTD_PORT control=$TGTD_CONTROL

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
  tgtd_stop "$TGT_PID" "$TGT_CONTROL_PORT"
  if [[ "$TGT_CREATED_DIR" == 1 ]]; then rm -rf "$dir"; fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [--size BYTES] [--block-size BYTES] [--dir DIR] | stop DIR" >&2; exit 2 ;;
esac
