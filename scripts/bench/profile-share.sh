#!/usr/bin/env bash
# Profiles our gateway's NFS share data path: the gateway runs under node --cpu-prof on a fresh
# data directory, sharebench writes BYTES sequentially in 1 MiB requests, then reads them back,
# then (FILES > 0) creates FILES files of 4 KiB (each written and COMMITted, libnfs's creat +
# pwrite + fsync + close: LOOKUP, CREATE, LOOKUP, WRITE, COMMIT, COMMIT), stats and reads them,
# and lists their directory LISTINGS times with READDIRPLUS (one listing is too short to profile),
# then the gateway stops and writes its profile. Prints when each phase ran (seconds since the
# gateway started, for profile-summary.ts --from/--to; the creates' own span too), its rate, and
# the gateway's CPU time and system calls per MiB or per file over the phase (user + system, all
# its threads, from /proc). BYTES=0 skips the sequential phases.
#
#   scripts/bench/profile-share.sh OUTDIR [BYTES=512M] [FILES=0] [GATEWAY ARGS...]
#   (LISTINGS=20 in the environment sets the listings)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${1:?usage: profile-share.sh OUTDIR [BYTES] [FILES]}"
bytes="${2:-512M}"
files="${3:-0}"
shift $(( $# < 3 ? $# : 3 ))
bin="$(scripts/bench/build.sh)"
rm -rf "$out"; mkdir -p "$out"
. scripts/bench/profiled-gateway.sh
start_profiled_gateway profile-share "$out" --nfs-port 0 --nfs-mount-port 0 --nfs-portmap false "$@"
nfs_port="$(grep -o '"nfsPort":[0-9]*' <<<"$ready" | cut -d: -f2)"
mount_port="$(grep -o '"mountPort":[0-9]*' <<<"$ready" | cut -d: -f2)"
url="nfs://127.0.0.1/files?nfsport=$nfs_port&mountport=$mount_port"
n="$(numfmt --from=iec "$bytes")"
start_ms=$(gateway_start_ms)
since() { awk -v ms=$(( $(date +%s%N) / 1000000 - start_ms )) 'BEGIN { printf "%.1f", ms / 1000 }'; }
for test in seqwrite seqread; do
  [[ "$n" -gt 0 ]] || break
  from=$(since); cpu0=$(gateway_cpu_ms); read -r r0 w0 <<<"$(gateway_syscalls)"
  "$bin/sharebench" --url "$url" --test "$test" --dir profile --bytes "$n" >"$out/$test.json"
  to=$(since); cpu1=$(gateway_cpu_ms); read -r r1 w1 <<<"$(gateway_syscalls)"
  rate="$(grep -o '"MBps": *[0-9.]*' "$out/$test.json" | grep -o '[0-9.]*$')"
  echo "$test from ~$from to ~$to s: $rate MB/s, gateway CPU $(awk -v c=$((cpu1 - cpu0)) -v n="$n" 'BEGIN { printf "%.2f", c / (n / 1048576) }') ms/MiB, $(awk -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v n="$n" 'BEGIN { printf "%.1f reads + %.1f writes", r / (n / 1048576), w / (n / 1048576) }') (system calls) a MiB" | tee -a "$out/phases"
done
if [[ "$files" -gt 0 ]]; then
  from=$(since); cpu0=$(gateway_cpu_ms); read -r r0 w0 <<<"$(gateway_syscalls)"
  "$bin/sharebench" --url "$url" --test smallfiles --dir profile-files --files "$files" --file-size 4096 >"$out/smallfiles.json"
  to=$(since); cpu1=$(gateway_cpu_ms); read -r r1 w1 <<<"$(gateway_syscalls)"
  rate="$(grep -o '"create_per_s": *[0-9.]*' "$out/smallfiles.json" | grep -o '[0-9.]*$')"
  echo "smallfiles from ~$from to ~$to s (creates to ~$(awk -v f="$from" -v n="$files" -v r="$rate" 'BEGIN { printf "%.1f", f + n / r }') s): $rate creates/s, gateway CPU $(awk -v c=$((cpu1 - cpu0)) -v n="$files" 'BEGIN { printf "%.2f", c / n }') ms, $(awk -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v n="$files" 'BEGIN { printf "%.1f reads + %.1f writes", r / n, w / n }') (system calls) a file created, stat-ed and read" | tee -a "$out/phases"
  listings="${LISTINGS:-20}"
  from=$(since); cpu0=$(gateway_cpu_ms)
  for _ in $(seq "$listings"); do
    "$bin/sharebench" --url "$url" --test readdirplus --dir profile-files --files "$files" >>"$out/readdirplus.json"
  done
  to=$(since); cpu1=$(gateway_cpu_ms)
  rate="$(grep -o '"entries_per_s": *[0-9.]*' "$out/readdirplus.json" | grep -o '[0-9.]*$' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  echo "readdirplus from ~$from to ~$to s: $listings listings, median $rate entries/s, gateway CPU $(awk -v c=$((cpu1 - cpu0)) -v n=$((files * listings)) 'BEGIN { printf "%.1f", c * 1000 / n }') us an entry" | tee -a "$out/phases"
fi
grep VmRSS "/proc/$pid/status" | tee -a "$out/phases"
kill -TERM $pid; wait $pid || true
ls "$out"/*.cpuprofile
