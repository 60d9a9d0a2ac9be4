#!/usr/bin/env bash
# A private single-node Ceph cluster with the RADOS Gateway (S3) on 127.0.0.1: one monitor, one
# BlueStore OSD in a sparse file, radosgw with the beast front end. No systemd, no cephx, no mgr:
# a real distributed object store for tests and benchmarks, started from nothing in about 10 s.
# Debian packages: ceph-mon ceph-osd radosgw ceph-common. Runs as root.
#
#   scripts/ceph-rgw.sh up [--dir DIR] [--port PORT] [--osd-size SIZE]
#       Starts the cluster and prints KEY=VALUE lines: RGW_DIR, RGW_ENDPOINT, RGW_ACCESS_KEY,
#       RGW_SECRET_KEY, RGW_REGION, RGW_PIDS, RGW_CONF. DIR (default: a new temporary directory)
#       holds everything: ceph.conf, the monitor's store, the OSD and its block file, logs, pid
#       files, admin sockets and rgw.env. PORT is radosgw's (default: a free one); SIZE is the
#       OSD's sparse block file (default 20G: it only takes the disk that objects fill).
#       The S3 user has the keys printed; the zone has the storage classes STANDARD, GLACIER
#       and DEEP_ARCHIVE (as ordinary pools: objects in them read at once).
#   scripts/ceph-rgw.sh down DIR
#       Stops the daemons by the PIDs in their pid files (SIGTERM, SIGKILL after 10 s; --now:
#       SIGKILL at once, for a throw-away cluster) and removes DIR if `up` created it.
set -euo pipefail

readonly ACCESS_KEY=TAPEGATEWAYTEST0RGW0
readonly SECRET_KEY=tape-gateway-test-secret-for-ceph-rgw-0
readonly S3_USER=tape-gateway

die() { echo "ceph-rgw: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package $2"; }
port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }
free_port() {
  local port attempt
  for attempt in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    port_in_use "$port" || { echo "$port"; return 0; }
  done
  die "no free port found"
}
# A zombie still answers kill -0; it is gone all the same.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# Runs a ceph tool against this cluster, its output in the tool log; shows the log on failure.
run() {
  if ! "$@" -c "$DIR/ceph.conf" >>"$DIR/log/tools.log" 2>&1; then
    tail -n 30 "$DIR/log/tools.log" >&2
    die "failed: $* (logs in $DIR/log)"
  fi
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local what="$1" seconds="$2" tries
  shift 2
  for tries in $(seq $((seconds * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$what not within $seconds s (logs in $DIR/log)"
}

osd_up() { ceph -c "$DIR/ceph.conf" --connect-timeout 5 osd dump -f json | grep -q '"up":1'; }
pid_alive() { local f="$DIR/run/$1.pid"; [[ -r "$f" ]] && alive "$(cat "$f")"; }

write_conf() {
  local fsid="$1" mon_v2="$2" mon_v1="$3" rgw_port="$4" osd_size="$5"
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]
public addr = 127.0.0.1
# No cephx: a private cluster on the loopback. Without crc mode for monitor clients radosgw
# hangs forever on "get_initial_auth_request returned -13".
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
# Everything of this cluster stays in its own directory.
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
keyring = $DIR/keyring
# One OSD: one copy of everything, placed across OSDs rather than hosts, few placement groups.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
# A test machine's disk may be fuller than a production monitor would accept.
mon data avail crit = 1
mon data avail warn = 2
mon warn on insecure global id reclaim allowed = false

[mon]
mon data = $DIR/mon.\$id
# Without these every pool creation waits 1-2 s for the next paxos round.
paxos propose interval = 0.05
paxos min wait = 0.01

[osd]
osd data = $DIR/osd.\$id
osd objectstore = bluestore
# The block file must lie outside the OSD's data folder, else mkfs links it to itself.
bluestore block path = $DIR/osd.\$id.block
bluestore block create = true
bluestore block size = $osd_size
osd memory target = 939524096

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $DIR/rgw
EOF
}

up() {
  local rgw_port='' osd_size=20G created=0
  DIR=''
  while (($#)); do
    case "$1" in
      --dir) DIR="$2"; shift 2 ;;
      --port) rgw_port="$2"; shift 2 ;;
      --osd-size) osd_size="$2"; shift 2 ;;
      *) die "unknown option $1 (usage: $0 up [--dir DIR] [--port PORT] [--osd-size SIZE])" ;;
    esac
  done
  need ceph-mon ceph-mon; need ceph-osd ceph-osd; need radosgw radosgw; need ceph ceph-common; need ss iproute2
  if [[ -z "$DIR" ]]; then
    DIR="$(mktemp -d /tmp/ceph-rgw.XXXXXX)"
    created=1
  fi
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  [[ -e "$DIR/ceph.conf" ]] && die "$DIR already holds a cluster: stop it with '$0 down $DIR' or choose another --dir"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/crash" "$DIR/rgw" "$DIR/osd.0"
  cat >"$DIR/rgw.env" <<EOF
RGW_DIR=$DIR
RGW_CREATED_DIR=$created
EOF
  # From here on a failure leaves nothing running.
  trap 'down --now "$DIR" >/dev/null 2>&1 || true' ERR

  local fsid mon_v2 mon_v1 osd_uuid
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  mon_v2="$(free_port)"
  mon_v1="$(free_port)"
  [[ -n "$rgw_port" ]] || rgw_port="$(free_port)"
  port_in_use "$rgw_port" && die "port $rgw_port is in use: choose another with --port"
  write_conf "$fsid" "$mon_v2" "$mon_v1" "$rgw_port" "$osd_size"

  run ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *'
  run monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]" "$DIR/monmap"
  run ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  run ceph-mon -i a
  wait_for "the monitor's pid file" 10 pid_alive mon.a

  local id
  id="$(ceph -c "$DIR/ceph.conf" --connect-timeout 10 osd create "$osd_uuid" 2>>"$DIR/log/tools.log")" || die "ceph osd create failed (logs in $DIR/log)"
  [[ "$id" == 0 ]] || die "the new OSD got id $id, not 0"
  run ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid"
  run ceph-osd -i 0
  wait_for "the OSD up" 60 osd_up

  run radosgw-admin user create --uid "$S3_USER" --display-name "tape gateway tests" --access-key "$ACCESS_KEY" --secret "$SECRET_KEY"
  # The archive storage classes the shelf's storage-class pools name, as plain pools here.
  local class
  for class in GLACIER DEEP_ARCHIVE; do
    run radosgw-admin zonegroup placement add --rgw-zonegroup default --placement-id default-placement --storage-class "$class"
    run radosgw-admin zone placement add --rgw-zone default --placement-id default-placement --storage-class "$class" \
      --data-pool "default.rgw.${class,,}.data"
  done
  run radosgw -n client.rgw
  wait_for "radosgw on 127.0.0.1:$rgw_port" 60 port_in_use "$rgw_port"
  trap - ERR

  local pids=()
  for name in mon.a osd.0 client.rgw; do pids+=("$(cat "$DIR/run/$name.pid")"); done
  cat >>"$DIR/rgw.env" <<EOF
RGW_ENDPOINT=http://127.0.0.1:$rgw_port
RGW_ACCESS_KEY=$ACCESS_KEY
RGW_SECRET_KEY=$SECRET_KEY
RGW_REGION=us-east-1
RGW_PIDS=$(IFS=,; echo "${pids[*]}")
RGW_CONF=$DIR/ceph.conf
EOF
  grep -v '^RGW_CREATED_DIR=' "$DIR/rgw.env"
}

# stop DIR NAME SIGNAL: signals the daemon NAME of the cluster in DIR by its pid file and waits
# for it to go, SIGKILL after 10 s.
stop_daemon() {
  local dir="$1" name="$2" signal="$3" pid waited
  [[ -r "$dir/run/$name.pid" ]] || return 0
  pid="$(<"$dir/run/$name.pid")"
  [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 0
  # Only our own daemon: the PID must still be a process started with this directory's config.
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"$dir/ceph.conf"* ]] || return 0
  kill -s "$signal" "$pid" 2>/dev/null || return 0
  for waited in $(seq 100); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -s KILL "$pid" 2>/dev/null || true
}

down() {
  local signal=TERM
  if [[ "${1:-}" == --now ]]; then signal=KILL; shift; fi
  local dir="${1:?usage: ceph-rgw.sh down [--now] DIR}"
  [[ -r "$dir/rgw.env" ]] || die "no $dir/rgw.env: not a directory made by ceph-rgw.sh up"
  # One at a time, clients first: radosgw waits for an OSD or monitor that went before it.
  local name
  for name in client.rgw osd.0 mon.a; do stop_daemon "$dir" "$name" "$signal"; done
  if grep -qx 'RGW_CREATED_DIR=1' "$dir/rgw.env"; then rm -rf "$dir"; fi
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) shift; down "$@" ;;
  *) echo "usage: $0 up [--dir DIR] [--port PORT] [--osd-size SIZE] | down [--now] DIR" >&2; exit 2 ;;
esac
