# Shell library of the tape-test guest, sourced by /init and by every test script.
# The serial console is the only channel out; lines starting with "@@guest " are markers that
# test/helpers/guest.ts parses:
#   @@guest booted kernel=... uptime=MS
#   @@guest step-begin NAME
#   @@guest step-end NAME rc=N ms=N
#   @@guest note NAME TEXT          (a value for the host, e.g. a checksum)
#   @@guest error TEXT
#   @@guest done rc=N uptime=MS

guest_marker() {
  # A leading newline keeps the marker on a line of its own even after partial output.
  printf '\n@@guest %s\n' "$*"
}

guest_uptime_ms() {
  # /proc/uptime: "12.34 ..." -> 12340
  awk '{ printf "%d", $1 * 1000 }' /proc/uptime
}

guest_scsi_count() {
  ls /sys/bus/scsi/devices 2>/dev/null | grep -c '^[0-9]*:[0-9]*:[0-9]*:[0-9]*$'
}

# guest_wait_scsi COUNT SECONDS: waits until COUNT SCSI devices exist.
guest_wait_scsi() {
  local want="$1" tries=$(($2 * 10))
  while [ "$(guest_scsi_count)" -lt "$want" ]; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    usleep 100000
  done
  return 0
}

# guest_wait_nodes SECONDS: waits until every bound st/ch device has its /dev node.
# QEMU's user-mode network: the guest is 10.0.2.15, the host's forwarded ports are at 10.0.2.100.
guest_network_up() {
  ip link set lo up
  i=0
  while [ ! -e /sys/class/net/eth0 ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
}

guest_wait_nodes() {
  local tries=$(($1 * 10)) missing name
  while :; do
    missing=0
    for name in $(ls /sys/class/scsi_tape /sys/class/scsi_changer 2>/dev/null); do
      case "$name" in *:) continue ;; esac
      [ -e "/dev/$name" ] || missing=1
    done
    [ "$missing" = 0 ] && return 0
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    usleep 100000
  done
}

# step NAME SHELL-CODE...: runs the code in a subshell with `set -e`, its output (stdout and
# stderr) on the console between step-begin and step-end markers. Returns the code's status.
step() {
  local name="$1" start end rc
  shift
  guest_marker step-begin "$name"
  start="$(guest_uptime_ms)"
  (
    set -e
    eval "$*"
  ) </dev/null 2>&1
  rc=$?
  end="$(guest_uptime_ms)"
  guest_marker step-end "$name rc=$rc ms=$((end - start))"
  return $rc
}

# note NAME VALUE: hands a value to the host.
note() {
  guest_marker note "$*"
}

# must CMD...: runs CMD, fails the step (under set -e) with a message naming it if it fails.
must() {
  "$@" || { echo "FAILED ($?): $*"; return 1; }
}

# expect_fail CMD...: the command must fail (e.g. an operation the device has to refuse).
expect_fail() {
  if "$@"; then echo "UNEXPECTED SUCCESS: $*"; return 1; fi
  return 0
}

# contains TEXT FILE-OR--: grep -F with a message on failure.
contains() {
  local text="$1" file="${2:--}"
  if grep -F -q -- "$text" "$file"; then return 0; fi
  echo "EXPECTED TO FIND: $text"
  return 1
}

# The kernel's own iSCSI initiator (iscsi_tcp), logged in as a Linux backup server does it, over
# QEMU's user network (guest.net=1: the host's forwarded ports are at 10.0.2.100).
GUEST_INITIATOR=iqn.2026-11.io.tapegateway:guest-kernel

# guest_iscsi_login PORT TARGET...: open-iscsi's iscsistart logs each target in, one after another (so
# that the SCSI hosts, and with them sch0, st0, st1..., come in that order), then waits for their LUNs.
guest_iscsi_login() {
  local port="$1" target before
  shift
  before="$(guest_scsi_count || true)"
  for target in "$@"; do
    iscsistart -i "$GUEST_INITIATOR" -t "$target" -g 1 -a 10.0.2.100 -p "$port" || return 1
  done
  guest_wait_scsi $((before + $#)) 30 || { echo "only $(guest_scsi_count) SCSI devices after the logins"; return 1; }
  guest_wait_nodes 5
}

# guest_iscsi_disk TARGET: the block device (/dev/sdX) at LUN 0 of the session logged in to TARGET,
# once its node exists (sd probes asynchronously).
guest_iscsi_disk() {
  local tries=100 session name
  while :; do
    for session in /sys/class/iscsi_session/session*; do
      [ "$(cat "$session/targetname" 2>/dev/null)" = "$1" ] || continue
      name="$(ls "$session"/device/target*/*:0/block 2>/dev/null || true)"
      if [ -n "$name" ] && [ -b "/dev/$name" ]; then echo "/dev/$name"; return 0; fi
    done
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || { echo "no disk at LUN 0 of $1" >&2; return 1; }
    usleep 100000
  done
}

# guest_iscsid: iscsid adopts the sessions iscsistart made, as on a host booted from iSCSI, and
# from then on does their error recovery (NOP-Outs, re-login after a connection fails).
guest_iscsid() {
  mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
  echo "InitiatorName=$GUEST_INITIATOR" >/etc/iscsi/initiatorname.iscsi
  # open-iscsi's defaults, written out: NOP-Out every 5 s, 5 s to answer, 120 s to re-login.
  cat >/etc/iscsi/iscsid.conf <<'CONF'
iscsid.safe_logout = No
iscsid.ipc_auth_uid = No
node.session.timeo.replacement_timeout = 120
node.conn[0].timeo.noop_out_interval = 5
node.conn[0].timeo.noop_out_timeout = 5
CONF
  iscsid -f >/tmp/iscsid.log 2>&1 &
  echo $! >/tmp/iscsid.pid
}
