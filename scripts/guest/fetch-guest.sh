#!/bin/bash
# The 6.1 guest: install the "guest" group of deps.txt and the kernel and
# headers of the current ABI, then print GUEST_ABI, GUEST_VMLINUZ, GUEST_MODDIR
# and GUEST_KHDR for the other scripts to eval.
#   fetch-guest.sh [--print-only]   (install nothing: the installed kernel)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
install=1
[ "${1:-}" != --print-only ] || install=
log() { echo "fetch-guest: $*" >&2; }

# "Depends: linux-image-6.1.0-56-amd64" (awk reads all: an early exit is a SIGPIPE)
resolve_abi() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\(6\.1\.[0-9]*-[0-9]*\)-amd64$/\1/p' |
        awk 'NR == 1 { print }'
}

# The newest installed 6.1 kernel that has headers too
installed_abi() {
    local d best=""
    for d in /usr/src/linux-headers-6.1.*-amd64; do
        d=${d#/usr/src/linux-headers-}
        d=${d%-amd64}
        [ -e "/boot/vmlinuz-$d-amd64" ] || continue
        if [ -z "$best" ] || dpkg --compare-versions "$d" gt "$best"; then
            best=$d
        fi
    done
    echo "$best"
}

abi=""
if [ -n "$install" ]; then
    abi=$(resolve_abi)
    if [ -z "$abi" ]; then
        log "apt lists do not know linux-image-amd64; running apt-get update"
        apt-get update -qq >&2
        abi=$(resolve_abi)
    fi
fi
[ -n "$abi" ] || abi=$(installed_abi)
[ -n "$abi" ] || { log "cannot resolve the Debian 6.1 kernel ABI"; exit 1; }
if [ -n "$install" ]; then
    "$here/../deps.sh" guest -- "linux-image-$abi-amd64, linux-headers-$abi-amd64" >&2
    log "guest packages present (ABI $abi-amd64)"
fi

vmlinuz=/boot/vmlinuz-$abi-amd64
for f in "$vmlinuz" "/lib/modules/$abi-amd64/modules.dep" \
         "/usr/src/linux-headers-$abi-amd64/Makefile" /usr/src/linux-source-6.1.tar.xz; do
    [ -e "$f" ] || { log "missing after install: $f"; exit 1; }
done
# root-only readable on Debian; QEMU -kernel only needs to read it
[ -r "$vmlinuz" ] || log "warning: $vmlinuz is not readable"
echo "GUEST_ABI=$abi-amd64"
echo "GUEST_VMLINUZ=$vmlinuz"
echo "GUEST_MODDIR=/lib/modules/$abi-amd64"
echo "GUEST_KHDR=/usr/src/linux-headers-$abi-amd64"
