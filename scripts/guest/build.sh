#!/usr/bin/env bash
# Builds the QEMU guest that runs Linux's own tape (st) and changer (ch) drivers with mtx, mt-st,
# GNU tar and Bacula's btape: a stock Debian 12 kernel and an initramfs assembled from Debian
# packages fetched with `apt-get download` (nothing is installed on this machine).
#
#   scripts/guest/build.sh [--refresh] [--cache DIR]
#
# Output (default DIR: .cache/guest/ in the repository, gitignored):
#   DIR/vmlinux              the kernel of linux-image-amd64's current version, decompressed
#                            from its vmlinuz: QEMU boots the ELF straight through its PVH entry,
#                            which saves the ~10 s that decompressing a bzImage takes under TCG
#   DIR/initramfs.cpio.gz    busybox, the tools, their shared libraries, the st/ch/sg/virtio_scsi
#                            modules, sd and ext4 with e2fsprogs (block volumes), virtio_net and
#                            the NFSv3 client's modules, /init
#                            (scripts/guest/init) and /lib/guest.sh
#   DIR/manifest.txt         the key of this build and the packages (with versions) it used
# and prints the two image paths as GUEST_KERNEL=... and GUEST_INITRD=... lines.
#
# Idempotent: the key is a hash of this directory's inputs (this script, init, guest.sh and the
# package list); when DIR/manifest.txt carries the same key and both images exist, the script
# exits at once without asking apt anything. --refresh rebuilds from the archive's current
# versions. Only the two images and the manifest stay in DIR; the packages and the extracted trees
# are deleted after a build.
#
# Needs: apt-get/apt-cache with up-to-date lists (run `apt-get update` once), dpkg-deb, gzip, perl
# (perl-base), coreutils. No root needed beyond what apt-get download needs (none).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="$repo/.cache/guest"
refresh=0
while (($#)); do
  case "$1" in
    --refresh) refresh=1; shift ;;
    --cache) cache="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

die() { echo "guest build: $*" >&2; exit 1; }
log() { echo "guest build: $*" >&2; }

# ---- What goes in. The kernel comes from the linux-image-amd64 meta package.
# dash is /bin/sh: busybox's ash prefers its own applets (its mt and tar) over the real tools.
# e2fsprogs makes and checks ext4 on the gateway's block volumes (test/guest/volumes.test.ts).
# git churns small files on the file share (test/share/kernel-client.test.ts): its builtins only.
readonly tool_packages=(busybox-static dash mtx mt-st tar bacula-sd bacula-common e2fsprogs git)
# Used here only, from the package tree (so this machine needs no xz): decompresses the kernel.
readonly build_packages=(xz-utils)
# Programs copied into the guest (path inside the package tree) with their shared libraries.
readonly programs=(
  bin/busybox
  bin/dash
  bin/mt-st
  bin/tar
  usr/sbin/mtx
  usr/sbin/tapeinfo
  usr/sbin/loaderinfo
  usr/sbin/scsitape
  usr/sbin/btape
  usr/sbin/bls
  sbin/mke2fs
  sbin/e2fsck
  usr/bin/git
)
# Other files copied as they are.
readonly plain_files=(
  etc/bacula/scripts/mtx-changer
  etc/bacula/scripts/mtx-changer.conf
)
# Kernel modules the guest loads (their dependencies are added and ordered here). sd and ext4 are
# for block volumes; ext4 takes CRC32C from the crypto API for its metadata checksums, a soft
# dependency that modules.dep does not list, so crc32c_generic is named before it.
readonly modules=(virtio_pci virtio_scsi scsi_mod st ch sg sd_mod crc32c_generic ext4)
# The network (QEMU's user-mode network, guest.net=1) and the kernel's NFSv3 client over it.
readonly network_modules=(virtio_net nfsv3)
# The initiator Linux backup servers use: the kernel's iscsi_tcp over QEMU's user network, logged in
# by open-iscsi's iscsistart, with iscsid taking the sessions over for error recovery as it does on a
# host booted from iSCSI; sg3-utils and stenc reach the drives through sg as applications do.
readonly initiator_packages=(open-iscsi sg3-utils stenc)
readonly initiator_programs=(
  sbin/iscsistart
  sbin/iscsid
  usr/bin/sg_turs
  usr/bin/sg_raw
  usr/bin/sg_read_attr
  usr/bin/sg_decode_sense
  usr/bin/stenc
)
# iscsi_tcp takes CRC32C from the crypto API (for digests) when it makes a connection: a soft dependency
# modules.dep does not list, without which every login fails with "Cannot allocate memory".
readonly initiator_modules=(crc32c_generic iscsi_tcp)

key="$(cat "$here/build.sh" "$here/init" "$here/guest.sh" | sha256sum | cut -c1-16)"
kernel_out="$cache/vmlinux"
initrd_out="$cache/initramfs.cpio.gz"
manifest="$cache/manifest.txt"

print_result() {
  echo "GUEST_KERNEL=$kernel_out"
  echo "GUEST_INITRD=$initrd_out"
}

if ((refresh == 0)) && [[ -s "$kernel_out" && -s "$initrd_out" && -r "$manifest" ]] &&
  [[ "$(sed -n 's/^key=//p' "$manifest")" == "$key" ]]; then
  print_result
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb gzip sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (this script wants a Debian system)"
done

started=$SECONDS
mkdir -p "$cache"
rm -rf "$cache"/work.* # left by a build that was killed
work="$(mktemp -d "$cache/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/pkgroot" "$work/kernel" "$work/initrd"

# ---- Resolve the package names.
kernel_package="$(apt-cache depends linux-image-amd64 2>/dev/null |
  sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)"
[[ -n "$kernel_package" ]] || die "apt-cache knows no linux-image-amd64: run apt-get update"
# Shared libraries: every lib* package in the dependency closure of the tools. Only the .so files
# the programs actually need (by the dynamic loader's own resolution below) go into the guest.
mapfile -t lib_packages < <(
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${tool_packages[@]}" "${initiator_packages[@]}" "${build_packages[@]}" 2>/dev/null |
    grep -v '^ ' | grep -E '^(lib|zlib)' | sort -u
)
((${#lib_packages[@]} > 0)) || die "apt-cache depends found no libraries: run apt-get update"
# tar's libacl1 is a Pre-Depends of some of these; name the ones the loader is known to want.
all_packages=("$kernel_package" "${tool_packages[@]}" "${initiator_packages[@]}" "${build_packages[@]}" "${lib_packages[@]}" libacl1)
mapfile -t all_packages < <(printf '%s\n' "${all_packages[@]}" | sort -u)

log "downloading ${#all_packages[@]} packages (kernel $kernel_package)"
(cd "$work/debs" && apt-get download -q -o APT::Sandbox::User=root "${all_packages[@]}" >"$work/download.log" 2>&1) ||
  { cat "$work/download.log" >&2; die "apt-get download failed"; }

# ---- Extract.
kernel_deb="$(ls "$work/debs/${kernel_package}"_*.deb)"
for deb in "$work/debs"/*.deb; do
  [[ "$deb" == "$kernel_deb" ]] && continue
  dpkg-deb -x "$deb" "$work/pkgroot"
done
dpkg-deb --fsys-tarfile "$kernel_deb" |
  tar -x -C "$work/kernel" --wildcards './boot/vmlinuz-*' './lib/modules/*'
kver="$(ls "$work/kernel/lib/modules")"
[[ -n "$kver" && -d "$work/kernel/lib/modules/$kver/kernel" ]] || die "no modules in $kernel_deb"

# ---- Initramfs tree.
R="$work/initrd"
P="$work/pkgroot"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,lib64,var/lib/bacula,var/run/bacula,lib/modules/"$kver"}

copy_file() { # copy_file PATH-in-pkgroot  (dereferenced, same path in the guest)
  local rel="$1"
  [[ -e "$P/$rel" ]] || die "$rel is missing from the packages"
  mkdir -p "$R/$(dirname "$rel")"
  cp -L "$P/$rel" "$R/$rel"
}

# The dynamic loader resolves each program's libraries inside the package tree; a library found
# outside it (on this machine) means a package is missing from the list: fail rather than hide it.
lib_path="$P/lib/x86_64-linux-gnu:$P/usr/lib/x86_64-linux-gnu:$P/usr/lib/bacula"
loader="$P/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
[[ -x "$loader" ]] || die "no dynamic loader in libc6"
declare -A libs_needed=()
for rel in "${programs[@]}" "${initiator_programs[@]}"; do
  copy_file "$rel"
  [[ "$rel" == bin/busybox ]] && continue # static
  while read -r line; do
    case "$line" in
      *ld-linux-x86-64.so.2*) ;; # the loader itself, copied below
      *'=> not found'*) die "$rel needs ${line%% *}, which no package in the list provides" ;;
      *'=> '"$P"/*) path="${line#*=> }"; path="${path%% (*}"; libs_needed["${path#"$P"/}"]=1 ;;
      *'=> /'*) die "$rel: ${line%% *} resolved outside the packages (${line#*=> }): add its package" ;;
    esac
  done < <("$loader" --inhibit-cache --library-path "$lib_path" --list "$P/$rel")
done
for rel in "${!libs_needed[@]}"; do copy_file "$rel"; done
copy_file lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
for rel in "${plain_files[@]}"; do copy_file "$rel"; done

# Commands: the real tools first, then busybox for everything else (never over a real tool).
ln -s mt-st "$R/bin/mt"
ln -s dash "$R/bin/sh"
for applet in $("$R/bin/busybox" --list-full); do
  name="$(basename "$applet")"
  [[ -e "$R/bin/$name" || -e "$R/sbin/$name" || -e "$R/usr/bin/$name" || -e "$R/usr/sbin/$name" ]] && continue
  [[ -e "$R/$applet" || -L "$R/$applet" ]] && continue
  mkdir -p "$R/$(dirname "$applet")"
  ln -s /bin/busybox "$R/$applet"
done

# Modules in load order (dependencies first), from each module's own depends= field.
mdir="$work/kernel/lib/modules/$kver"
declare -A module_path=() module_done=()
while read -r ko; do
  name="$(basename "$ko" .ko)"
  module_path["${name//-/_}"]="${ko#"$mdir"/}"
done < <(find "$mdir/kernel" -name '*.ko')
order=()
add_module() {
  local name="${1//-/_}" dep deps
  [[ -n "${module_done[$name]:-}" ]] && return 0
  [[ -n "${module_path[$name]:-}" ]] || {
    grep -q "/$name.ko\$" "$mdir/modules.builtin" && return 0
    die "module $name is neither in the package nor built in"
  }
  deps="$(tr '\0' '\n' <"$mdir/${module_path[$name]}" | sed -n 's/^depends=//p' | head -n1)"
  for dep in ${deps//,/ }; do add_module "$dep"; done
  module_done[$name]=1
  order+=("${module_path[$name]}")
}
for m in "${modules[@]}" "${network_modules[@]}" "${initiator_modules[@]}"; do add_module "$m"; done
for rel in "${order[@]}"; do
  mkdir -p "$R/lib/modules/$kver/$(dirname "$rel")"
  cp "$mdir/$rel" "$R/lib/modules/$kver/$rel"
done
printf '%s\n' "${order[@]}" >"$R/etc/guest-modules"

# Configuration the tools expect.
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
bacula:x:0:0:bacula:/var/lib/bacula:/bin/sh
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
tape:x:26:
disk:x:6:
bacula:x:0:
EOF
cp "$P/etc/debian_version" "$R/etc/debian_version" 2>/dev/null || echo 12 >"$R/etc/debian_version"
echo "$kver" >"$R/etc/guest-kernel"
install -m 0755 "$here/init" "$R/init"
install -m 0644 "$here/guest.sh" "$R/lib/guest.sh"

# ---- Images.
# vmlinuz is a bzImage whose payload is an xz stream: find it and decompress it to the ELF.
vmlinuz="$(ls "$work/kernel/boot"/vmlinuz-*)"
offset="$(perl -e 'local $/; my $d = <STDIN>; print index($d, "\xfd7zXZ\x00")' <"$vmlinuz")"
((offset > 0)) || die "no xz payload in $vmlinuz"
# (xz stops at the end of the stream and complains of the bytes after it: only the ELF counts.)
(
  set +o pipefail
  tail -c +$((offset + 1)) "$vmlinuz" | "$loader" --library-path "$lib_path" "$P/usr/bin/xz" -dc 2>/dev/null
) >"$work/vmlinux" || true
[[ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]] || die "decompressing $vmlinuz gave no ELF"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | "$R/bin/busybox" cpio -o -H newc 2>/dev/null) |
  gzip -6 >"$work/initramfs.cpio.gz"
# Zero-pad to a 512-byte multiple: the harness appends a second archive (the test script), and the
# kernel only finds an archive that follows a compressed one at a 4-byte-aligned offset.
size="$(stat -c %s "$work/initramfs.cpio.gz")"
truncate -s $(((size + 511) / 512 * 512)) "$work/initramfs.cpio.gz"
{
  echo "key=$key"
  echo "kernel=$kver"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for deb in "$work/debs"/*.deb; do
    dpkg-deb -f "$deb" Package Version | paste -sd' '
  done | LC_ALL=C sort | sed 's/^Package: \(.*\) Version: /package=\1 /'
} >"$work/manifest.txt"
mv -f "$work/vmlinux" "$kernel_out"
mv -f "$work/initramfs.cpio.gz" "$initrd_out"
mv -f "$work/manifest.txt" "$manifest"
log "built in $((SECONDS - started)) s: kernel $kver, initramfs $(du -k "$initrd_out" | cut -f1) KiB"
print_result
