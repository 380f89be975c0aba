#!/bin/bash
# The 6.1 replacement modules refuse to load beside a module of another build
# (patches/linux/6.1, 0004): with the stock virtio_ring.ko in the patched
# initramfs, every other replaced module must fail for virtio_backport_build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
g=$top/build/guest
eval "$("$here/fetch-guest.sh" --print-only)"
root=$(mktemp -d "$g/mixed-root.XXXXXX")
trap 'rm -rf "$root" "$g/initramfs-mixed.cpio.gz"' EXIT
cp -a "$g/initramfs-patched.root/." "$root/"
cp "$GUEST_MODDIR/kernel/drivers/virtio/virtio_ring.ko" "$root/lib/modules/virtio_ring.ko"
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) |
    gzip -1 >"$g/initramfs-mixed.cpio.gz"
out=$(QEMU=${QEMU:-$top/build/obj/qemu-system-x86_64} /usr/bin/python3 "$here/run-s3.py" \
    --mode cmd --kernel 6.1 --path freeze --freeze-variant mixed --machine pc \
    --cmd "dmesg Unknown symbol virtio_backport_build|insmod" 2>&1) || true
bad=0
for m in virtio virtio_pci_modern_dev virtio_pci_legacy_dev; do
    if ! grep -q "$m: Unknown symbol virtio_backport_build" <<<"$out"; then
        echo "check-mixed-modules: $m did not refuse to load beside a stock virtio_ring" >&2
        bad=1
    fi
done
grep -q "insmod virtio_pci.ko failed" <<<"$out" ||
    { echo "check-mixed-modules: virtio_pci.ko loaded" >&2; bad=1; }
if [ $bad = 0 ]; then
    echo "PASS: 6.1 replacement modules refuse to load beside a stock virtio_ring"
else
    echo "$out" | tail -20 >&2
    echo "FAIL: 6.1 mixed modules" >&2
fi
exit $bad
