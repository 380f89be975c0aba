#!/bin/bash
# Link the firmware into BUILD_DIR/qemu-bundle/<firmware path>, where a binary
# of the build tree finds it (the qtests cannot pass -L): the Debian tarball
# has none.  SeaBIOS and iPXE come from the seabios and ipxe-qemu packages,
# the x86 option ROMs from ROM_BUILD_DIR (default BUILD_DIR; for a tree whose
# compiler cannot build them), and bios.bin and bios-256k.bin from SEABIOS_DIR
# (the project's SeaBIOS, scripts/build-seabios.sh) when given.
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
