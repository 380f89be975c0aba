#!/bin/bash
# Install what the guest side of the freeze_mode demo needs, only what is
# missing, and print what it installs:
#   linux-source-6.1, linux-headers-<abi>-amd64, linux-image-<abi>-amd64
#   (the current Debian bookworm 6.1 ABI, resolved at run time from the
#   linux-image-amd64 / linux-headers-amd64 meta packages), busybox-static,
#   cpio, kmod, gcc/make/libc (module build, static helper), python3-pil.
#
# Prints, as its last lines, shell assignments the other scripts eval:
#   GUEST_ABI=6.1.0-NN-amd64
#   GUEST_VMLINUZ=/boot/vmlinuz-6.1.0-NN-amd64
#   GUEST_MODDIR=/lib/modules/6.1.0-NN-amd64
#   GUEST_KHDR=/usr/src/linux-headers-6.1.0-NN-amd64
#
# usage: fetch-guest.sh [--print-only]
#   --print-only: resolve the ABI and print the assignments, install nothing
#                 (uses the installed kernel if any).
set -euo pipefail

print_only=0
[ "${1:-}" = "--print-only" ] && print_only=1

log() { echo "fetch-guest: $*" >&2; }

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# The ABI is whatever the meta package currently depends on, e.g.
# "linux-image-amd64 Depends: linux-image-6.1.0-56-amd64".
resolve_abi() {
    # (no early exit in the pipe: with pipefail a SIGPIPE would fail it)
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\(6\.1\.[0-9]*-[0-9]*\)-amd64$/\1/p' |
        awk 'NR == 1 { print }'
}

# The newest installed 6.1 Debian kernel that has headers too (fallback when
# apt lists are not available and for --print-only).
installed_abi() {
    local d best=""
    for d in /usr/src/linux-headers-6.1.*-amd64; do
        [ -d "$d" ] || continue
        d=${d#/usr/src/linux-headers-}; d=${d%-amd64}
        [ -e "/boot/vmlinuz-$d-amd64" ] || continue
        if [ -z "$best" ] || dpkg --compare-versions "$d" gt "$best"; then
            best=$d
        fi
    done
    echo "$best"
}

abi=""
if [ $print_only = 0 ]; then
    abi=$(resolve_abi)
    if [ -z "$abi" ]; then
        log "apt lists do not know linux-image-amd64; running apt-get update"
        apt-get update -qq >&2
        abi=$(resolve_abi)
    fi
fi
[ -n "$abi" ] || abi=$(installed_abi)
[ -n "$abi" ] || { log "cannot resolve the Debian 6.1 kernel ABI"; exit 1; }

if [ $print_only = 0 ]; then
    want="linux-source-6.1 linux-headers-$abi-amd64 linux-image-$abi-amd64
          busybox-static cpio kmod xz-utils gcc make libc6-dev libelf-dev
          bc python3-pil"
    missing=()
    for p in $want; do installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing: ${missing[*]}"
        # The kernel image is only a file for QEMU's -kernel here: do not
        # let its postinst build an initramfs or touch a boot loader.
        DEBIAN_FRONTEND=noninteractive INITRD=No \
            apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
        {
            log "install failed once; apt-get update and retry"
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive INITRD=No \
                apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
        }
    else
        log "all guest packages present (ABI $abi-amd64)"
    fi
fi

vmlinuz=/boot/vmlinuz-$abi-amd64
moddir=/lib/modules/$abi-amd64
khdr=/usr/src/linux-headers-$abi-amd64
for f in "$vmlinuz" "$moddir/modules.dep" "$khdr/Makefile" \
         /usr/src/linux-source-6.1.tar.xz; do
    [ -e "$f" ] || { log "missing after install: $f"; exit 1; }
done
# The image is root-only readable on Debian; QEMU -kernel only needs to read it.
[ -r "$vmlinuz" ] || log "warning: $vmlinuz is not readable"

echo "GUEST_ABI=$abi-amd64"
echo "GUEST_VMLINUZ=$vmlinuz"
echo "GUEST_MODDIR=$moddir"
echo "GUEST_KHDR=$khdr"
