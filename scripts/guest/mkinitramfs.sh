#!/bin/bash
# Build the tiny demo initramfs: busybox-static, fbdraw, the modules for
# virtio-pci + virtio-gpu (+ DRM deps) from the stock Debian module tree with
# modprobe's dependency order, and scripts/guest/init.sh as /init.
#
# usage: mkinitramfs.sh stock|patched|builtin [OUT]
#   stock:   every module from /lib/modules/<abi>-amd64 (Debian 6.1 kernel)
#   patched: the modules found in build/guest/modules/patched/ replace the
#            stock ones of the same name (run build-modules.sh first)
#   builtin: no modules at all, for the 6.12 guest kernel (build-kernel.sh),
#            which has virtio-pci and virtio-gpu built in
# Default OUT: build/guest/initramfs-<variant>.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
variant=${1:?usage: mkinitramfs.sh stock|patched|builtin [OUT]}
case "$variant" in stock | patched | builtin) ;; *) echo "bad variant $variant" >&2; exit 2 ;; esac
out=${2:-$top/build/guest/initramfs-$variant.cpio.gz}

[ "$variant" = builtin ] || eval "$("$here/fetch-guest.sh" --print-only)"
gdir=$top/build/guest
patched_dir=$gdir/modules/patched
root=$gdir/initramfs-$variant.root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,lib/modules}

# busybox and its applets
cp /bin/busybox "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done

# fbdraw, static
if [ ! -x "$gdir/fbdraw" ] || [ "$here/fbdraw.c" -nt "$gdir/fbdraw" ]; then
    gcc -static -O2 -Wall -o "$gdir/fbdraw" "$here/fbdraw.c"
fi
cp "$gdir/fbdraw" "$root/bin/fbdraw"

# modules, dependency order, deduplicated
: >"$root/etc/modules.load"
declare -A seen=()
top_mods="virtio_pci virtio_gpu"
[ "$variant" != builtin ] || top_mods=""
for top_mod in $top_mods; do
    while read -r kw path _; do
        [ "$kw" = insmod ] || continue
        name=$(basename "$path")
        [ -z "${seen[$name]:-}" ] || continue
        seen[$name]=1
        src=$path
        if [ "$variant" = patched ] && [ -e "$patched_dir/$name" ]; then
            src=$patched_dir/$name
            echo "mkinitramfs: $name <- patched"
        fi
        cp "$src" "$root/lib/modules/$name"
        echo "$name" >>"$root/etc/modules.load"
    done < <(modprobe -S "${GUEST_ABI}" --show-depends "$top_mod")
done
if [ "$variant" = patched ]; then
    n=$(ls "$patched_dir"/*.ko 2>/dev/null | wc -l)
    [ "$n" -gt 0 ] || { echo "mkinitramfs: no modules in $patched_dir" >&2; exit 1; }
fi

echo "$variant" >"$root/etc/variant"
install -m 0755 "$here/init.sh" "$root/init"
install -m 0644 "$here/desktop.sh" "$root/etc/desktop.sh"

(cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $out ($(du -h "$out" | cut -f1), modules: $(tr '\n' ' ' <"$root/etc/modules.load"))"
