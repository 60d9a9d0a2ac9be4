#!/usr/bin/env bash
# Profiles our gateway's block LUN data path: the gateway runs under node --cpu-prof on a fresh
# data directory, blockbench writes the span sequentially, then runs each 4 KiB random case, then
# the gateway stops and writes its profile. Prints when each case ran (seconds since the gateway
# started, for profile-summary.ts --from/--to), about how many commands it completed, and the
# gateway's CPU time per command over the case (user + system, all its threads, from /proc): the
# profile samples the main thread's wall clock, which on a busy machine also counts the time it
# was preempted inside a system call.
#
#   scripts/bench/profile-block.sh OUTDIR [SECONDS_PER_CASE=5] [SPAN=64M] [CASES="randread:1 randread:32 randwrite:1 randwrite:32"] [GATEWAY ARGS...]
#
# The gateway arguments choose the disk, e.g. `--volume bench=1GiB:cached` for a cached volume as
# `npm run bench -- --only block` measures it (the first target with a disk LUN is the one used).
#
# A case is TEST:QD[:BLOCK_SIZE] (blockbench's --test, --qd, --bs; default 4096), e.g. seqwrite:1:1M.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${1:?usage: profile-block.sh OUTDIR [SECONDS_PER_CASE] [SPAN] [CASES]}"
seconds="${2:-5}"; span="${3:-64M}"; cases="${4:-randread:1 randread:32 randwrite:1 randwrite:32}"
shift $(( $# < 4 ? $# : 4 ))
bin="$(scripts/bench/build.sh)"
rm -rf "$out"; mkdir -p "$out"
. scripts/bench/profiled-gateway.sh
start_profiled_gateway profile-block "$out" "$@"
# The first target with a disk LUN: {"name":"iqn...","luns":[...{"lun":N,"deviceType":"disk"}...]}
url="$(node -e '
  const r = JSON.parse(process.argv[1]);
  for (const t of r.targets) for (const l of t.luns) if (l.deviceType === "disk") { console.log(`iscsi://127.0.0.1:${process.argv[2]}/${t.name}/${l.lun}`); process.exit(0); }
  process.exit(1);' "$ready" "$port")" || { echo "profile-block: the gateway serves no disk LUN" >&2; exit 1; }
start_ms=$(gateway_start_ms)
since() { awk -v ms=$(( $(date +%s%N) / 1000000 - start_ms )) 'BEGIN { printf "%.1f", ms / 1000 }'; }
"$bin/blockbench" --url "$url" --test seqwrite --bs 1M --qd 1 --span "$span" --bytes "$span" --seconds 120 >"$out/fill.json"
for c in $cases; do
  IFS=: read -r test qd bs <<<"$c"; bs="${bs:-4096}"
  from=$(since); cpu0=$(gateway_cpu_ms); read -r r0 w0 <<<"$(gateway_syscalls)"
  "$bin/blockbench" --url "$url" --test "$test" --bs "$bs" --qd "$qd" --span "$span" --seconds "$seconds" >"$out/$test-qd$qd.json"
  to=$(since); cpu1=$(gateway_cpu_ms); read -r r1 w1 <<<"$(gateway_syscalls)"
  iops="$(grep -o '"IOPS": *[0-9.]*' "$out/$test-qd$qd.json" | grep -o '[0-9.]*$')"
  echo "$test QD$qd from ~$from to ~$to s: $iops IOPS, ~$(awk -v i="${iops:-0}" -v s="$seconds" 'BEGIN { printf "%d", i * s }') commands, gateway CPU $(awk -v c=$((cpu1 - cpu0)) -v i="${iops:-0}" -v s="$seconds" 'BEGIN { printf "%.1f", c * 1000 / (i * s) }') us/command, $(awk -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v i="${iops:-0}" -v s="$seconds" 'BEGIN { printf "%.2f reads + %.2f writes", r / (i * s), w / (i * s) }') (system calls) a command" | tee -a "$out/phases"
done
grep VmRSS "/proc/$pid/status" | tee -a "$out/phases"
kill -TERM $pid; wait $pid || true
ls "$out"/*.cpuprofile
