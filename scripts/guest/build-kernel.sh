#!/bin/bash
# The 6.12 guest kernel (docs/guest.md): linux-source-6.12 as a git tree (tag
# pristine) + git am of patches/linux/6.12/series, built with ccache kept
# outside the checkout; --stock: the pristine tree, into *-6.12-stock.
#   build-kernel.sh [-j N] [--stock]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
gdir=$top/build/guest
jobs=2
stock=
while [ $# -gt 0 ]; do
    case "$1" in
    -j) jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    --stock) stock=-stock; shift ;;
    *) echo "usage: build-kernel.sh [-j N] [--stock]" >&2; exit 2 ;;
    esac
done
log() { echo "build-kernel: $*" >&2; }
"$top/scripts/deps.sh" kernel >&2
id=(-c user.name=build -c user.email=build@localhost)

src=$gdir/linux-6.12
if [ ! -d "$src/.git" ]; then
    tarball=$(ls /usr/src/linux-source-6.12.tar.* | head -n1)
    log "unpacking $tarball"
    rm -rf "$src" "$src.tmp"
    mkdir -p "$src.tmp"
    tar -xf "$tarball" -C "$src.tmp" --strip-components=1
    (cd "$src.tmp" && git init -q && git add -f -A . &&
        git "${id[@]}" commit -q -m "Debian linux-source-6.12 ($(dpkg-query -W -f='${Version}' linux-source-6.12))" &&
        git tag pristine)
    mv "$src.tmp" "$src"
fi

patches=()
if [ -z "$stock" ]; then
    while read -r p _; do
        case "$p" in "" | \#*) continue ;; esac
        patches+=("$top/patches/linux/6.12/$p")
    done < <(cat "$top/patches/linux/6.12/series" 2>/dev/null)
fi
obj=$gdir/kernel-6.12$stock
out=$gdir/bzImage-6.12$stock
# Apply the series unless the tree already is at exactly these patches.
want=$( (echo "${#patches[@]}"; cat "${patches[@]}" /dev/null) | sha256sum | cut -c1-16)
if [ "$want" != "$(git -C "$src" config --get freezemode.series 2>/dev/null || true)" ]; then
    git -C "$src" am --abort >/dev/null 2>&1 || true
    git -C "$src" reset -q --hard pristine
    if [ ${#patches[@]} -gt 0 ]; then
        log "applying ${#patches[@]} patches"
        git -C "$src" "${id[@]}" am -q --committer-date-is-author-date "${patches[@]}"
    fi
    git -C "$src" config freezemode.series "$want"
fi

mkdir -p "$obj"
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/freeze-mode/kernel-ccache}
# Paths below the checkout relative, so that another clone hits the cache
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top} CCACHE_NOHASHDIR=1
# Depend mode (as the Makefile's): a miss reads the -MMD file, no second cpp
export CCACHE_DEPEND=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Fixed build time and host, so that ccache hits files including generated headers
export KBUILD_BUILD_TIMESTAMP="2024-01-01" KBUILD_BUILD_USER=guest KBUILD_BUILD_HOST=freeze-mode
kmake() { make -s -C "$src" O="$obj" ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

frag=$here/kernel-6.12.config
if [ ! -f "$obj/.config" ] || [ "$frag" -nt "$obj/.config" ]; then
    log "configuring: x86_64_defconfig + $(basename "$frag")"
    kmake x86_64_defconfig >/dev/null
    "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" >/dev/null
    kmake olddefconfig >/dev/null
    # every line of the fragment must have survived olddefconfig
    bad=0
    while IFS= read -r l; do
        case "$l" in
        CONFIG_*=*) grep -qx "$l" "$obj/.config" || { log "config: $l did not stick"; bad=1; } ;;
        "# CONFIG_"*" is not set")
            s=${l#\# }; s=${s% is not set}
            ! grep -q "^$s=" "$obj/.config" || { log "config: $s still set"; bad=1; } ;;
        esac
    done <"$frag"
    [ $bad = 0 ] || exit 1
fi

t0=$(date +%s)
ccache -z >/dev/null
kmake -j"$jobs" vmlinux
# ccache hashes piggy.S, not the compressed kernel it .incbin's: a kernel of
# the same compressed size would get a cached, older payload.  Uncached here.
CCACHE_DISABLE=1 kmake -j"$jobs" bzImage
t1=$(date +%s)
rel=$(kmake -s kernelrelease)
"$src/scripts/extract-vmlinux" "$obj/arch/x86/boot/bzImage" |
    grep -acF "Linux version $rel " >/dev/null || { log "bzImage does not hold $rel"; exit 1; }
cp "$obj/arch/x86/boot/bzImage" "$out.tmp" && mv "$out.tmp" "$out"
stats=$(ccache -s 2>/dev/null | grep -E '^ *(Hits|Misses):|cache hit|cache miss' | tr -s ' ' | tr '\n' ';')
log "$out: $(( t1 - t0 )) s ($rel); ccache: $stats"
