#!/bin/bash
# Make a QEMU build tree find its firmware when run from the build tree
# (qtests included, which cannot pass -L).
#
#   link-firmware.sh BUILD_DIR [SEABIOS_DIR [ROM_BUILD_DIR]]
#
# SEABIOS_DIR: the project's SeaBIOS (scripts/build-seabios.sh), whose
# bios.bin and bios-256k.bin are linked in place of the seabios package's;
# the package's images stay in /usr/share/seabios (-bios there picks them).
# ROM_BUILD_DIR: the tree whose x86 option ROMs to link (default
# BUILD_DIR), for a tree built with a compiler that cannot build them.
#
# The Debian tarball has no prebuilt firmware: SeaBIOS and the iPXE option
# ROMs come from Debian's seabios and ipxe-qemu packages, the x86 option
# ROMs (linuxboot_dma.bin for -kernel, ...) are built from source in
# BUILD_DIR/pc-bios/optionrom.  A binary in BUILD_DIR looks for firmware
# below BUILD_DIR/qemu-bundle/<firmware path>; link them there.
set -euo pipefail
build=$(realpath "$1")
seabios=${2:+$(realpath "$2")}
roms=$(realpath "${3:-$1}")

fwpath=$(sed -n 's/^#define CONFIG_QEMU_FIRMWAREPATH "\([^"]*\)".*/\1/p' "$build/config-host.h")
[ -n "$fwpath" ] || { echo "link-firmware: no firmware path in $build/config-host.h" >&2; exit 1; }
dest="$build/qemu-bundle$fwpath"
mkdir -p "$dest"

n=0
link() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || continue
        ln -sfn "$f" "$dest/$(basename "$f")"
        n=$((n + 1))
    done
}
link /usr/share/seabios/*.bin
if [ -n "$seabios" ]; then
    [ -f "$seabios/bios-256k.bin" ] && [ -f "$seabios/bios.bin" ] ||
        { echo "link-firmware: no bios.bin, bios-256k.bin in $seabios" >&2; exit 1; }
    link "$seabios/bios.bin" "$seabios/bios-256k.bin"
fi
link /usr/lib/ipxe/qemu/*.rom
link "$roms"/pc-bios/optionrom/*.bin
[ -e "$dest/bios-256k.bin" ] || { echo "link-firmware: SeaBIOS not found (package seabios)" >&2; exit 1; }
[ -e "$dest/efi-virtio.rom" ] || { echo "link-firmware: iPXE ROMs not found (package ipxe-qemu)" >&2; exit 1; }
echo "link-firmware: $n firmware files linked into ${dest#$build/}"
