#!/usr/bin/env bash
# Profiles our gateway's tape data path: the gateway runs under node --cpu-prof on a fresh data
# directory, one cartridge is made and loaded with bin/tapegw, tapebench writes it and reads it
# back, then the gateway stops and writes its profile. Prints when each phase ran (seconds since
# the gateway started) for profile-summary.ts --from/--to, and the CPU time the gateway had used by
# then (all its threads, user + system): the difference over a phase is its CPU cost, which unlike
# the profile's non-idle samples does not count time spent waiting for a CPU on a busy machine.
#
#   scripts/bench/profile-tape.sh OUTDIR [BLOCK_SIZE=256K] [BYTES=256M] [PAUSE_BEFORE_READ_S=0]
#
# A pause before the read lets the background upload finish, to see the read path alone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${1:?usage: profile-tape.sh OUTDIR [BLOCK_SIZE] [BYTES] [PAUSE_BEFORE_READ_S]}"
bs="${2:-256K}"; bytes="${3:-256M}"; pause="${4:-0}"
bin="$(scripts/bench/build.sh)"
rm -rf "$out"; mkdir -p "$out"
. scripts/bench/profiled-gateway.sh
start_profiled_gateway profile-tape "$out"
drive="$(grep -o 'iqn[^"]*tapedrive[^"]*' <<<"$ready" | head -1)"
[[ -n "$drive" ]] || { echo "profile-tape: the gateway serves no tape drive" >&2; exit 1; }
bin/tapegw --data-dir "$data" tape create --barcode PROF01L5 --size 100GiB >/dev/null
bin/tapegw --data-dir "$data" tape move PROF01L5 --to drive:1 >/dev/null
url="iscsi://127.0.0.1:$port/$drive/0"
since() { echo $(( $(date +%s%N) / 1000000 - start_ms )); }
start_ms=$(gateway_start_ms)
echo "write from ~$(since) ms, cpu $(gateway_cpu_ms) ms" | tee "$out/phases"
"$bin/tapebench" --url "$url" --block-size "$bs" --bytes "$bytes" --phases write >"$out/write.json"
echo "write to ~$(since) ms, cpu $(gateway_cpu_ms) ms" | tee -a "$out/phases"
sleep "$pause"
echo "read from ~$(since) ms, cpu $(gateway_cpu_ms) ms" | tee -a "$out/phases"
"$bin/tapebench" --url "$url" --block-size "$bs" --bytes "$bytes" --phases read >"$out/read.json"
echo "read to ~$(since) ms, cpu $(gateway_cpu_ms) ms" | tee -a "$out/phases"
grep VmRSS "/proc/$pid/status" | tee -a "$out/phases"
kill -TERM $pid; wait $pid || true
grep -h '"MBps"' "$out/write.json" "$out/read.json" | grep -v '"bytes": 0,'
ls "$out"/*.cpuprofile
