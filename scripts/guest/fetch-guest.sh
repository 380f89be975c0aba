#!/bin/bash
# Install what the 6.1 guest of the freeze_mode demo needs: the "guest"
# group of scripts/deps.txt and the linux-image and linux-headers of the
# current Debian bookworm 6.1 ABI, resolved at run time from the
# linux-image-amd64 meta package (scripts/deps.sh: only what is missing).
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
here=$(cd "$(dirname "$0")" && pwd)

print_only=0
[ "${1:-}" = "--print-only" ] && print_only=1

log() { echo "fetch-guest: $*" >&2; }

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
    "$here/../deps.sh" guest -- "linux-image-$abi-amd64, linux-headers-$abi-amd64" >&2
    log "guest packages present (ABI $abi-amd64)"
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
