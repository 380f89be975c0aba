#!/bin/bash
# Put the QEMU 10.0.2 release tarball at $1 and verify it.
#
# Sources, in order: $QEMU_TARBALL (a tarball the user already has),
# an existing file at $1, Debian's `qemu` source package for upstream
# 10.0.2 in <codename>-backports (only its .orig tarball is needed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu-version.sh"

dest=$1
mkdir -p "$(dirname "$dest")"

verify() {
    local sum
    sum=$(sha256sum "$1" | cut -d' ' -f1)
    if [ "$sum" != "$QEMU_ORIG_SHA256" ]; then
        echo "fetch-qemu: $1: sha256 mismatch" >&2
        echo "fetch-qemu:   expected $QEMU_ORIG_SHA256" >&2
        echo "fetch-qemu:   got      $sum" >&2
        return 1
    fi
}

if [ -n "${QEMU_TARBALL:-}" ]; then
    verify "$QEMU_TARBALL"
    ln -sf "$(realpath "$QEMU_TARBALL")" "$dest"
    echo "fetch-qemu: using QEMU_TARBALL=$QEMU_TARBALL"
    exit 0
fi
if [ -f "$dest" ] && verify "$dest"; then
    exit 0
fi
rm -f "$dest"

"$here/apt-sources.sh"
# Debian revisions of the same upstream release come and go; take whichever
# revision the source index lists for upstream $QEMU_VERSION.
# (awk reads to the end: exiting early would kill apt-cache with SIGPIPE)
ver=$(apt-cache showsrc qemu 2>/dev/null |
      awk -v v="$QEMU_VERSION" '/^Version: / && index($2, ":" v "+") && !ver { ver = $2 }
                                END { print ver }')
if [ -z "$ver" ]; then
    echo "fetch-qemu: no Debian source package of qemu $QEMU_VERSION in the apt index" >&2
    echo "fetch-qemu: pass QEMU_TARBALL=/path/to/qemu-$QEMU_VERSION tarball instead" >&2
    exit 1
fi
echo "fetch-qemu: downloading the .orig tarball of Debian source package qemu $ver"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only the .orig tarball matters; the .dsc or the Debian tarball of a
# superseded revision may already be gone from the archive, so their
# download errors are not fatal: the checksum below is what counts.
(cd "$tmp" && apt-get source -q --download-only "qemu=$ver" >"$tmp/log" 2>&1) || true
origs=("$tmp"/qemu_"$QEMU_VERSION"*.orig.tar.*)
orig=${origs[0]}
if [ ! -f "$orig" ]; then
    cat "$tmp/log" >&2
    echo "fetch-qemu: the .orig tarball was not downloaded" >&2
    exit 1
fi
verify "$orig"
mv "$orig" "$dest"
echo "fetch-qemu: $dest: sha256 OK"
