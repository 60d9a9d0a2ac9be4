# Shared by the scripts that run a private tgtd (Debian package `tgt`) on 127.0.0.1 for tests:
# scripts/tgt-reference.sh (a disk) and scripts/guest/tgt-vtl.sh (a tape library).
# Source it after defining die().

readonly SOCKET_DIR=/var/run/tgtd

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package tgt"; }
port_in_use() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }
# A zombie still answers kill -0; it is gone all the same.
alive() { [[ -r /proc/$1/stat ]] && [[ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]]; }

# tgtd_start DIR: starts tgtd on a free iSCSI port and a free control port, its log in DIR/tgtd.log.
# Sets TGTD_PID, TGTD_PORT and TGTD_CONTROL.
tgtd_start() {
  local dir="$1" attempt port control pid='' waited
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 10000))
    control=$((1000 + RANDOM % 30000)) # tgtd takes at most 32767
    port_in_use "$port" && continue
    [[ -e "$SOCKET_DIR/socket.$control" ]] && continue
    setsid tgtd -f -C "$control" --iscsi "portal=127.0.0.1:$port" >"$dir/tgtd.log" 2>&1 </dev/null &
    pid=$!
    for waited in $(seq 50); do
      alive "$pid" || break
      if port_in_use "$port" && tgtadm -C "$control" --op show --mode system >/dev/null 2>&1; then
        TGTD_PID=$pid TGTD_PORT=$port TGTD_CONTROL=$control
        return 0
      fi
      sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$SOCKET_DIR/socket.$control" "$SOCKET_DIR/socket.$control.lock"
  done
  die "tgtd did not start; see $dir/tgtd.log"
}

# tgtd_stop PID CONTROL: through its control port (tgtd ignores SIGTERM), else SIGKILL by its PID.
tgtd_stop() {
  local pid="$1" control="$2" waited
  if alive "$pid"; then
    # tgtd refuses to leave while a target exists; --force drops the target's sessions too.
    tgtadm -C "$control" --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
    tgtadm -C "$control" --op delete --mode system >/dev/null 2>&1 || true
    for waited in $(seq 30); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$SOCKET_DIR/socket.$control" "$SOCKET_DIR/socket.$control.lock"
}
