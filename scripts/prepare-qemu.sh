#!/bin/bash
# Build preparation of a pristine QEMU tree, kept apart from the series.
#
# Debian's +ds tarball is the upstream release with the prebuilt firmware
# removed, including the compressed edk2 images that pc-bios/meson.build
# unpacks whenever an x86 or arm target is built: meson then stops at
# configure time on the missing files.  Where they are missing, skip the
# unpacking.  (SeaBIOS and iPXE come from Debian's packages at run time,
# see scripts/link-firmware.sh; the option ROMs are built from source.)
# An upstream tarball, which has the files, is left alone.
#
# Prints one line per change, for the commit message.
set -euo pipefail
tree=$1

if [ ! -e "$tree/pc-bios/edk2-x86_64-code.fd.bz2" ] &&
   grep -q '^    unpack_edk2_blobs = bzip2.found()$' "$tree/meson.build"; then
    sed -i 's/^    unpack_edk2_blobs = bzip2.found()$/    unpack_edk2_blobs = bzip2.found() and fs.exists('"'"'pc-bios\/edk2-x86_64-code.fd.bz2'"'"')/' \
        "$tree/meson.build"
    echo "meson.build: do not unpack the edk2 images, which this tarball lacks"
fi
