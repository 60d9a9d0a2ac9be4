#!/usr/bin/env bash
# A private tgtd (Debian package `tgt`) serving a small virtual tape library on 127.0.0.1: the
# reference the guest harness (test/helpers/guest.ts) is proved against before our own library.
# One target; LUN 1.. are tape drives (SSC over tgtimg images, empty at start), the last LUN is an
# SMC changer with one picker, storage slots holding the cartridges, import/export slots and the
# drives as data transfer elements. tgt's emulation is thin (see shared/peers.md): it is a
# reference for the harness, not for the standard.
#
#   scripts/guest/tgt-vtl.sh start [--drives N] [--tapes N] [--tape-mb MB] [--ie N] [--dir DIR]
#       Prints KEY=VALUE lines: VTL_DIR, VTL_PID, VTL_CONTROL_PORT, VTL_PORTAL, VTL_IQN,
#       VTL_DRIVE_LUNS (comma-separated), VTL_CHANGER_LUN, VTL_BARCODES (comma-separated, slot
#       order), VTL_FIRST_SLOT, VTL_FIRST_IE, VTL_FIRST_DRIVE (element addresses).
#   scripts/guest/tgt-vtl.sh stop DIR
#       Stops that tgtd through its control port, else SIGKILL by its PID (tgtd ignores SIGTERM),
#       and removes DIR if start created it.
set -euo pipefail

readonly IQN=iqn.2026-11.org.tgt-reference:vtl

die() { echo "tgt-vtl: $*" >&2; exit 1; }
# shellcheck source=scripts/lib/tgtd.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/tgtd.sh"

start() {
  local drives=1 tapes=4 tape_mb=2048 ie=2 dir='' created=0
  while (($#)); do
    case "$1" in
      --drives) drives="$2"; shift 2 ;;
      --tapes) tapes="$2"; shift 2 ;;
      --tape-mb) tape_mb="$2"; shift 2 ;;
      --ie) ie="$2"; shift 2 ;;
      --dir) dir="$2"; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  need tgtd; need tgtadm; need tgtimg; need ss
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d /tmp/tgt-vtl.XXXXXX)"
    created=1
  fi
  mkdir -p "$dir/media"
  dir="$(cd "$dir" && pwd)"

  local i barcodes=()
  for ((i = 1; i <= tapes; i++)); do
    local barcode
    barcode="$(printf 'TGT%03dL5' "$i")"
    barcodes+=("$barcode")
    [[ -e "$dir/media/$barcode" ]] ||
      tgtimg --op new --device-type tape --barcode "$barcode" --size "$tape_mb" --type data \
        --file "$dir/media/$barcode" --thin-provisioning >/dev/null
  done
  : >"$dir/smc"

  tgtd_start "$dir"
  local pid=$TGTD_PID port=$TGTD_PORT control=$TGTD_CONTROL

  local changer=$((drives + 1))
  local first_drive=1 picker=$((drives + 1)) first_ie=$((drives + 2)) first_slot=$((drives + ie + 2))
  cat >"$dir/tgt.env" <<EOF
VTL_DIR=$dir
VTL_PID=$pid
VTL_CONTROL_PORT=$control
VTL_PORTAL=127.0.0.1:$port
VTL_IQN=$IQN
VTL_DRIVE_LUNS=$(seq -s, 1 "$drives")
VTL_CHANGER_LUN=$changer
VTL_BARCODES=$(IFS=,; echo "${barcodes[*]}")
VTL_FIRST_DRIVE=$first_drive
VTL_FIRST_IE=$first_ie
VTL_FIRST_SLOT=$first_slot
VTL_CREATED_DIR=$created
EOF
  local t=(tgtadm -C "$control" --lld iscsi)
  if ! {
    "${t[@]}" --op new --mode target --tid 1 -T "$IQN" &&
      for ((i = 1; i <= drives; i++)); do
        # A drive needs a backing image to be created; offline it until the changer loads one.
        "${t[@]}" --op new --mode logicalunit --tid 1 --lun "$i" --device-type tape --bstype ssc \
          -b "$dir/media/${barcodes[0]}" &&
          "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$i" --params online=0 || exit 1
      done &&
      "${t[@]}" --op new --mode logicalunit --tid 1 --lun "$changer" --device-type changer \
        --bstype smc -b "$dir/smc" &&
      "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" --params "media_home=$dir/media" &&
      "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" \
        --params "element_type=1,start_address=$picker,quantity=1" &&
      "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" \
        --params "element_type=4,start_address=$first_drive,quantity=$drives" &&
      for ((i = 1; i <= drives; i++)); do
        "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" \
          --params "element_type=4,address=$((first_drive + i - 1)),tid=1,lun=$i" || exit 1
      done &&
      "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" \
        --params "element_type=3,start_address=$first_ie,quantity=$ie" &&
      "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" \
        --params "element_type=2,start_address=$first_slot,quantity=$((tapes + 2))" &&
      for ((i = 0; i < tapes; i++)); do
        "${t[@]}" --op update --mode logicalunit --tid 1 --lun "$changer" \
          --params "element_type=2,address=$((first_slot + i)),barcode=${barcodes[i]},sides=1" || exit 1
      done &&
      "${t[@]}" --op bind --mode target --tid 1 -I ALL
  } >>"$dir/tgtd.log" 2>&1; then
    stop "$dir"
    die "tgtadm could not configure the library (see the log in $dir if kept)"
  fi
  grep -v '^VTL_CREATED_DIR=' "$dir/tgt.env"
}

stop() {
  local dir="${1:?usage: tgt-vtl.sh stop DIR}"
  [[ -r "$dir/tgt.env" ]] || die "no $dir/tgt.env: not a directory made by tgt-vtl.sh start"
  local VTL_PID VTL_CONTROL_PORT VTL_CREATED_DIR
  # shellcheck disable=SC1091
  source "$dir/tgt.env"
  tgtd_stop "$VTL_PID" "$VTL_CONTROL_PORT"
  if [[ "$VTL_CREATED_DIR" == 1 ]]; then rm -rf "$dir"; fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 start [--drives N] [--tapes N] [--tape-mb MB] [--ie N] [--dir DIR] | stop DIR" >&2; exit 2 ;;
esac
