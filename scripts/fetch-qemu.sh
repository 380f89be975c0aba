#!/bin/bash
# Put the QEMU release tarball at $1, checked against qemu-version.sh: from
# $QEMU_TARBALL, a file already at $1, or the .orig tarball of Debian's qemu
# source package for the release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu-version.sh"
dest=$1
mkdir -p "$(dirname "$dest")"

verify() {
    local sum
    sum=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$sum" = "$QEMU_ORIG_SHA256" ] ||
        { echo "fetch-qemu: $1: sha256 mismatch: $sum, expected $QEMU_ORIG_SHA256" >&2; return 1; }
}

if [ -n "${QEMU_TARBALL:-}" ]; then
    verify "$QEMU_TARBALL"
    ln -sf "$(realpath "$QEMU_TARBALL")" "$dest"
    echo "fetch-qemu: using QEMU_TARBALL=$QEMU_TARBALL"
    exit 0
fi
[ -f "$dest" ] && verify "$dest" && exit 0
rm -f "$dest"

"$here/apt-sources.sh"
# Whichever Debian revision the index lists (awk reads all: an early exit is a SIGPIPE)
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
# Only the .orig tarball counts: a superseded revision's .dsc may be gone
(cd "$tmp" && apt-get source -q --download-only "qemu=$ver" >"$tmp/log" 2>&1) || true
origs=("$tmp"/qemu_"$QEMU_VERSION"*.orig.tar.*)
if [ ! -f "${origs[0]}" ]; then
    cat "$tmp/log" >&2
    echo "fetch-qemu: the .orig tarball was not downloaded" >&2
    exit 1
fi
verify "${origs[0]}"
mv "${origs[0]}" "$dest"
echo "fetch-qemu: $dest: sha256 OK"
