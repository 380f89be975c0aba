#!/bin/bash
# 6.1 (docs/guest.md): the patched virtio modules built out of tree against the
# linux-headers of the current ABI, the patched headers first (NOSTDINC_FLAGS
# comes before LINUXINCLUDE, ccflags-y after); virtio-gpu too if an exported
# CRC changed, so that it loads beside them.
#   build-modules.sh [-j N] [--with-gpu]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
jobs=2
with_gpu=0
while [ $# -gt 0 ]; do
    case "$1" in
    -j) jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    --with-gpu) with_gpu=1; shift ;;
    *) echo "usage: build-modules.sh [-j N] [--with-gpu]" >&2; exit 2 ;;
    esac
done

eval "$("$here/fetch-guest.sh" --print-only)"
g=$top/build/guest
tarball=/usr/src/linux-source-6.1.tar.xz
pristine=$g/linux-source-6.1
src=$g/linux-src
out=$g/modules/patched

# The modules replace the guest kernel's: the source must be its very upload (the
# image, built by linux-signed-amd64 6.1.N+M, carries the version 6.1.N-M it signs)
src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
img_ver=$(dpkg-query -W -f='${Version}' "linux-image-$GUEST_ABI" 2>/dev/null || true)
hdr_ver=$(dpkg-query -W -f='${source:Version}' "linux-headers-$GUEST_ABI" 2>/dev/null || true)
if [ -z "$src_ver" ] || [ "$src_ver" != "$img_ver" ] || [ "$src_ver" != "$hdr_ver" ]; then
    echo "build-modules: linux-source-6.1 is ${src_ver:-not installed}, the guest kernel" \
        "linux-image-$GUEST_ABI is ${img_ver:-?}, its headers ${hdr_ver:-?}: install the" \
        "matching linux-source-6.1 (apt-get install linux-source-6.1=$img_ver)" >&2
    exit 1
fi
echo "build-modules: linux-source-6.1 $src_ver matches linux-image-$GUEST_ABI"

# The virtio subset of the source, extracted once, and a copy with the series applied
if [ ! -e "$pristine/.extracted" ] || [ "$tarball" -nt "$pristine/.extracted" ]; then
    echo "build-modules: extracting the virtio subset of $tarball"
    rm -rf "$pristine"
    tar -C "$g" -xJf "$tarball" --wildcards \
        'linux-source-6.1/drivers/virtio/*' \
        'linux-source-6.1/drivers/gpu/drm/virtio/*' \
        'linux-source-6.1/include/linux/virtio*' \
        'linux-source-6.1/include/uapi/linux/virtio*'
    touch "$pristine/.extracted"
fi
rm -rf "$src"
mkdir -p "$src"
cp -a "$pristine/drivers" "$pristine/include" "$src/"
while read -r p _; do
    case "$p" in '' | '#'*) continue ;; esac
    echo "build-modules: applying $p"
    patch -d "$src" -p1 -s --batch --no-backup-if-mismatch <"$top/patches/linux/6.1/$p"
done <"$top/patches/linux/6.1/series"

# The modules refuse to load beside another build's: this build's id is the checksum
build_id=$(cd "$src" && find drivers/virtio include -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-16)
echo "build-modules: build $build_id"
cat >"$src/drivers/virtio/Kbuild" <<'EOF'
# The virtio core and virtio-pci out of tree (scripts/guest/build-modules.sh)
NOSTDINC_FLAGS += -I$(GUEST_SRC)/include -I$(GUEST_SRC)/include/uapi
ccflags-y += -DVIRTIO_BACKPORT_BUILD='"$(VIRTIO_BACKPORT_BUILD)"'
obj-m += virtio.o virtio_ring.o
obj-m += virtio_pci_modern_dev.o virtio_pci_legacy_dev.o
obj-m += virtio_pci.o
virtio_pci-y := virtio_pci_modern.o virtio_pci_common.o
virtio_pci-$(CONFIG_VIRTIO_PCI_LEGACY) += virtio_pci_legacy.o
EOF
kmake() {
    make -s -C "$GUEST_KHDR" M="$1" GUEST_SRC="$src" VIRTIO_BACKPORT_BUILD="$build_id" \
        -j"$jobs" "${@:2}" modules
}
echo "build-modules: building virtio modules against $GUEST_KHDR"
kmake "$src/drivers/virtio"

changed=$(awk 'NR == FNR { crc[$2] = $1; next }
               ($2 in crc) && crc[$2] != $1 { print $2 }' \
              "$GUEST_KHDR/Module.symvers" "$src/drivers/virtio/Module.symvers")
if [ -n "$changed" ]; then
    echo "build-modules: exported CRCs changed: $changed"
    with_gpu=1
else
    echo "build-modules: all exported symbol CRCs match the stock kernel"
fi
if [ $with_gpu = 1 ]; then
    cat >"$src/drivers/gpu/drm/virtio/Kbuild" <<'EOF'
NOSTDINC_FLAGS += -I$(GUEST_SRC)/include -I$(GUEST_SRC)/include/uapi
include $(src)/Makefile
EOF
    echo "build-modules: building virtio-gpu against the patched modules"
    kmake "$src/drivers/gpu/drm/virtio" \
        KBUILD_EXTRA_SYMBOLS="$src/drivers/virtio/Module.symvers" CONFIG_DRM_VIRTIO_GPU=m
fi

rm -rf "$out"
mkdir -p "$out"
for ko in "$src"/drivers/virtio/*.ko "$src"/drivers/gpu/drm/virtio/*.ko; do
    [ -e "$ko" ] || continue
    strip --strip-debug -o "$out/$(basename "$ko")" "$ko"
done
for ko in "$out"/*.ko; do
    printf 'build-modules: %-28s vermagic %s\n' "$(basename "$ko")" \
        "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)"
done
