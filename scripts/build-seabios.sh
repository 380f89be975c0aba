#!/bin/bash
# The project's SeaBIOS: bios.bin and bios-256k.bin of Debian's seabios source
# package + patches/seabios/, built by its debian/rules into OUTDIR; nothing to
# do when the package, the patches and this script are unchanged.
#   build-seabios.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/seabios-version.sh"
out=$(realpath -m "$1")
dl=$here/../downloads/seabios
dsc=$dl/seabios_$SEABIOS_DEB_VERSION.dsc
patchdir=$(cd "$here/../patches/seabios" && pwd)
patches=$(grep -v '^#' "$patchdir/series" | grep -v '^[[:space:]]*$' || true)
verify() { [ "$(sha256sum "$dsc" | cut -d' ' -f1)" = "$SEABIOS_DSC_SHA256" ]; }

if [ ! -f "$dsc" ] || ! verify; then
    "$here/apt-sources.sh"
    rm -rf "$dl"
    mkdir -p "$dl"
    echo "build-seabios: downloading Debian source package seabios $SEABIOS_DEB_VERSION"
    (cd "$dl" && apt-get source -q --download-only "seabios=$SEABIOS_DEB_VERSION") \
        > "$dl/download.log" 2>&1 || { cat "$dl/download.log" >&2; exit 1; }
    verify || { echo "build-seabios: $dsc: sha256 mismatch (expected $SEABIOS_DSC_SHA256)" >&2; exit 1; }
fi
key=$({ echo "$SEABIOS_DEB_VERSION $SEABIOS_DSC_SHA256 $SEABIOS_LOCAL_SUFFIX"
        for p in $patches; do cat "$patchdir/$p"; done
        cat "$0"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$out/inputs" 2>/dev/null)" = "$key" ] && [ -f "$out/bios.bin" ] &&
   [ -f "$out/bios-256k.bin" ]; then
    exit 0
fi

rm -rf "$out"
mkdir -p "$out"
# dpkg-source checks the tarballs against the .dsc and applies Debian's patches
dpkg-source -q -x "$dsc" "$out/src" > "$out/unpack.log" 2>&1 ||
    { cat "$out/unpack.log" >&2; exit 1; }
rm -f "$out"/seabios_*.orig.tar.*
cd "$out/src"
for p in $patches; do
    # line offsets are fine (the patches are against upstream master), fuzz is not
    patch -p1 -F0 -s --no-backup-if-mismatch < "$patchdir/$p"
done
# A changelog entry of our own: the BIOS prints its version, which says which build runs
{
    printf 'seabios (%s%s) UNRELEASED; urgency=medium\n\n' \
        "$SEABIOS_DEB_VERSION" "$SEABIOS_LOCAL_SUFFIX"
    printf '  * Apply the freeze_mode project'"'"'s patches/seabios/:\n'
    for p in $patches; do
        awk '/^Subject: / { s = $0; sub(/^Subject: (\[[^]]*\] )?/, "", s); on = 1; next }
             on && /^[ \t]/ { sub(/^[ \t]+/, " "); s = s $0; next }
             on { print "    - " s; exit }' "$patchdir/$p"
    done
    printf '\n -- Freeze Mode Developers <freeze-mode@example.org>  %s\n\n' \
        "$(dpkg-parsechangelog -SDate)"
    cat debian/changelog
} > debian/changelog.new
mv debian/changelog.new debian/changelog

echo "build-seabios: building bios.bin and bios-256k.bin (seabios $SEABIOS_DEB_VERSION$SEABIOS_LOCAL_SUFFIX, $(wc -w <<<"$patches") patch(es))"
make -f debian/rules -j2 build/bios.bin build/bios-256k.bin \
    > "$out/build.log" 2>&1 || { tail -40 "$out/build.log" >&2; exit 1; }
cp build/bios.bin build/bios-256k.bin "$out/"
echo "$key" > "$out/inputs"
echo "build-seabios: $out/bios.bin, $out/bios-256k.bin"
