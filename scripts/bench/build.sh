#!/usr/bin/env bash
# Builds the benchmark clients (C, against libiscsi and libnfs: Debian packages libiscsi-dev and
# libnfs-dev) and crcbench (the CRC32C implementations' GB/s) into .bench/bin.
#   scripts/bench/build.sh          # prints the directory of the binaries
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/.bench/bin"
mkdir -p "$out"
[[ -r /usr/include/iscsi/iscsi.h ]] || { echo "build.sh: libiscsi headers missing: install libiscsi-dev" >&2; exit 1; }
CC="${CC:-cc}"
CFLAGS="${CFLAGS:--O2 -g -Wall -Wextra -Wno-unused-parameter}"
for prog in tapebench blockbench; do
  src="$here/$prog.c"
  if [[ ! -x "$out/$prog" || "$src" -nt "$out/$prog" || "$here/bench-util.h" -nt "$out/$prog" || "$0" -nt "$out/$prog" ]]; then
    # shellcheck disable=SC2086
    "$CC" $CFLAGS -pthread -o "$out/$prog.tmp" "$src" -liscsi
    mv "$out/$prog.tmp" "$out/$prog"
  fi
done
src="$here/crcbench.c" crc="$root/src/native/crc32c.h"
if [[ ! -x "$out/crcbench" || "$src" -nt "$out/crcbench" || "$crc" -nt "$out/crcbench" || "$here/bench-util.h" -nt "$out/crcbench" || "$0" -nt "$out/crcbench" ]]; then
  # shellcheck disable=SC2086
  "$CC" $CFLAGS -o "$out/crcbench.tmp" "$src"
  mv "$out/crcbench.tmp" "$out/crcbench"
fi
if [[ -r /usr/include/nfsc/libnfs.h ]]; then
  src="$here/sharebench.c"
  if [[ ! -x "$out/sharebench" || "$src" -nt "$out/sharebench" || "$here/bench-util.h" -nt "$out/sharebench" || "$0" -nt "$out/sharebench" ]]; then
    # shellcheck disable=SC2086
    "$CC" $CFLAGS -o "$out/sharebench.tmp" "$src" -lnfs
    mv "$out/sharebench.tmp" "$out/sharebench"
  fi
else
  echo "build.sh: libnfs headers missing (install libnfs-dev): the share benchmark is not built" >&2
fi
echo "$out"
