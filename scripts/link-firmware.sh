#!/bin/bash
# Link the firmware where a binary of BUILD_DIR finds it (qemu-bundle/; the
# qtests cannot pass -L): SeaBIOS and iPXE of Debian's packages, the option
# ROMs of ROM_BUILD_DIR, and bios*.bin of SEABIOS_DIR (build-seabios.sh).
#   link-firmware.sh BUILD_DIR [SEABIOS_DIR [ROM_BUILD_DIR]]
set -euo pipefail
build=$(realpath "$1")
seabios=${2:+$(realpath "$2")}
roms=$(realpath "${3:-$1}")
die() { echo "link-firmware: $*" >&2; exit 1; }

fwpath=$(sed -n 's/^#define CONFIG_QEMU_FIRMWAREPATH "\([^"]*\)".*/\1/p' "$build/config-host.h")
[ -n "$fwpath" ] || die "no firmware path in $build/config-host.h"
dest="$build/qemu-bundle$fwpath"
mkdir -p "$dest"
for f in ${seabios:+"$seabios/bios.bin" "$seabios/bios-256k.bin"}; do
    [ -f "$f" ] || die "no bios.bin, bios-256k.bin in $seabios"
done
n=0
for f in /usr/share/seabios/*.bin ${seabios:+"$seabios/bios.bin" "$seabios/bios-256k.bin"} \
         /usr/lib/ipxe/qemu/*.rom "$roms"/pc-bios/optionrom/*.bin; do
    [ -e "$f" ] || continue
    ln -sfn "$f" "$dest/$(basename "$f")"
    n=$((n + 1))
done
[ -e "$dest/bios-256k.bin" ] || die "SeaBIOS not found (package seabios)"
[ -e "$dest/efi-virtio.rom" ] || die "iPXE ROMs not found (package ipxe-qemu)"
echo "link-firmware: $n firmware files linked into ${dest#"$build"/}"
