#!/bin/bash
# The guest initramfs: busybox-static, fbdraw, init.sh and (6.1)
# the modules of virtio_pci and virtio_gpu in modprobe's order: Debian's
# (stock), build-modules.sh's in their place (patched), or none (builtin, 6.12).
#   mkinitramfs.sh stock|patched|builtin [OUT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gdir=$(cd "$here/../.." && pwd)/build/guest
variant=${1:?usage: mkinitramfs.sh stock|patched|builtin [OUT]}
case "$variant" in stock | patched | builtin) ;; *) echo "bad variant $variant" >&2; exit 2 ;; esac
out=${2:-$gdir/initramfs-$variant.cpio.gz}
patched_dir=$gdir/modules/patched
root=$gdir/initramfs-$variant.root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules}

cp /bin/busybox "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
if [ ! -x "$gdir/fbdraw" ] || [ "$here/fbdraw.c" -nt "$gdir/fbdraw" ]; then
    gcc -static -O2 -Wall -o "$gdir/fbdraw" "$here/fbdraw.c"
fi
cp "$gdir/fbdraw" "$root/bin/fbdraw"

: >"$root/etc/modules.load"
if [ "$variant" != builtin ]; then
    eval "$("$here/fetch-guest.sh" --print-only)"
    for m in virtio_pci virtio_gpu; do
        modprobe -S "$GUEST_ABI" --show-depends "$m"
    done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r path; do
        name=$(basename "$path")
        if [ "$variant" = patched ] && [ -e "$patched_dir/$name" ]; then
            path=$patched_dir/$name
            echo "mkinitramfs: $name <- patched"
        fi
        cp "$path" "$root/lib/modules/$name"
        echo "$name" >>"$root/etc/modules.load"
    done
fi
if [ "$variant" = patched ] && ! ls "$patched_dir"/*.ko >/dev/null 2>&1; then
    echo "mkinitramfs: no modules in $patched_dir" >&2
    exit 1
fi

echo "$variant" >"$root/etc/variant"
install -m 0755 "$here/init.sh" "$root/init"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $out ($(du -h "$out" | cut -f1), modules: $(tr '\n' ' ' <"$root/etc/modules.load"))"
