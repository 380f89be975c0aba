#!/bin/bash
# Install, with apt, the packages that building and testing the series need,
# and only those that are missing.  Prints what it installs.
#
# usage: deps.sh [build|gl|docs|guest|fuzz|bench]...   (default: build)
#
# "build" includes "gl": the series is built with virglrenderer and OpenGL
# (virtio-gpu-gl, virtio-vga-gl), whose qtests run on an Xvfb display with
# Mesa's llvmpipe, no GPU needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

pkgs_build="build-essential pkg-config ninja-build git ccache flex bison
    python3 python3-venv python3-pycotap
    libglib2.0-dev libpixman-1-dev libslirp-dev libfdt-dev zlib1g-dev
    seabios ipxe-qemu xz-utils dpkg-dev gcc-multilib"
pkgs_gl="libvirglrenderer-dev libepoxy-dev libgbm-dev libsdl2-dev
    libgl1-mesa-dri libegl-mesa0 xvfb"
pkgs_docs="python3-sphinx python3-sphinx-rtd-theme"
pkgs_guest="busybox-static cpio kmod python3-pil"
pkgs_fuzz="clang libclang-rt-14-dev llvm"
pkgs_bench="valgrind"

want=()
for set in "${@:-build}"; do
    v="pkgs_$set"
    [ -n "${!v:-}" ] || { echo "deps: unknown set '$set'" >&2; exit 2; }
    want+=(${!v})
    if [ "$set" = build ]; then
        want+=($pkgs_gl)
    fi
done

missing=()
for p in "${want[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$p")
    fi
done

# meson >= 1.5 (QEMU 10.0's minimum) comes from backports on Debian 12.
need_meson=1
if command -v meson >/dev/null 2>&1 &&
   dpkg --compare-versions "$(meson --version)" ge 1.5; then
    need_meson=0
fi

if [ ${#missing[@]} -eq 0 ] && [ $need_meson -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages: ${missing[*]} ${need_meson:+meson(>=1.5)}" >&2
    echo "deps: run as root, or install them yourself" >&2
    exit 1
fi

"$here/apt-sources.sh"
export DEBIAN_FRONTEND=noninteractive
echo "deps: refreshing the apt index"
apt-get update -q >/dev/null
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $need_meson -eq 1 ]; then
    echo "deps: installing meson from ${codename}-backports"
    apt-get install -y -q --no-install-recommends -t "${codename}-backports" meson >/dev/null
fi
