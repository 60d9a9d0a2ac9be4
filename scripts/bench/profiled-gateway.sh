# Sourced by the profile-*.sh scripts: starts our gateway under node --cpu-prof on a fresh data
# directory, killed (and its directory removed) when the script exits, and gives what the scripts
# measure it with.
#
#   start_profiled_gateway NAME OUTDIR [GATEWAY ARGS...]   sets data, pid, ready (its gateway-ready log line) and port
#   gateway_cpu_ms                      CPU time the gateway has used (all threads, user + system)
#   gateway_start_ms                    when it started, in ms since the epoch
#   gateway_syscalls                    its read-family and write-family system calls so far ("READS WRITES", /proc/PID/io)

start_profiled_gateway() {
  local name="$1" out="$2"
  shift 2
  data="$(mktemp -d "/tmp/$name.XXXXXX")"
  # shellcheck disable=SC2046
  node $(node -p 'require("./package.json").config.gatewayNodeFlags') --cpu-prof --cpu-prof-dir="$out" --import tsx src/main.ts --data-dir "$data" \
    --iscsi-host 127.0.0.1 --iscsi-port 0 --log-level info "$@" 2>"$out/gateway.log" >/dev/null &
  pid=$!
  trap 'kill -KILL $pid 2>/dev/null || true; rm -rf "$data"' EXIT
  for _ in $(seq 120); do grep -q gateway-ready "$out/gateway.log" && break; sleep 0.5; done
  ready="$(grep gateway-ready "$out/gateway.log")"
  port="$(grep -o '"port":[0-9]*' <<<"$ready" | head -1 | cut -d: -f2)"
}

gateway_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$pid/stat"; }

gateway_start_ms() { echo $(( $(date +%s%N) / 1000000 - $(ps -o etimes= -p $pid) * 1000 )); }

gateway_syscalls() { awk '/^syscr:/ { r = $2 } /^syscw:/ { w = $2 } END { print r, w }' "/proc/$pid/io"; }
