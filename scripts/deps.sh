#!/bin/bash
# Install, with `apt-get satisfy`, groups of the packages in
# scripts/deps.txt; what is satisfied already is left alone.  Prints what
# it installs.
#
# usage: deps.sh GROUP... [-- DEPENDENCY...]
#   GROUP       a group of scripts/deps.txt: build, gl, docs, fuzz, bench,
#               guest, kernel
#   DEPENDENCY  more, in the same Depends syntax, that only the caller can
#               name (scripts/guest/fetch-guest.sh: the current kernel ABI)
#
# With everything satisfied this is one simulated `apt-get satisfy`: no
# root needed, no apt index refresh.  Otherwise, as root, it enables the
# apt sources the list needs (scripts/apt-sources.sh) and satisfies the
# groups; the apt index is refreshed only when that fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifest=$here/deps.txt
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
export LC_ALL=C

groups=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    groups+=("$1")
    shift
done
[ $# -eq 0 ] || shift
main=("$@")
backports=()
[ ${#groups[@]} -gt 0 ] || { echo "usage: deps.sh GROUP... [-- DEPENDENCY...]" >&2; exit 2; }

for g in "${groups[@]}"; do
    found=0
    while read -r group deps; do
        case $group in
        "$g") main+=("$deps") ;;
        "$g@backports") backports+=("$deps") ;;
        *) continue ;;
        esac
        found=1
    done < "$manifest"
    [ $found = 1 ] || { echo "deps: no group '$g' in $manifest" >&2; exit 2; }
done

simulate() {
    apt-get satisfy -s -q --no-install-recommends "$@" 2>&1
}
packages() {
    sed -n 's/^Inst \([^ ]*\).*/\1/p' | paste -sd ' '
}

# What is installed satisfies the backports lines too, so one simulation
# without -t tells whether anything is missing.
sim=$(simulate "${main[@]}" "${backports[@]}") &&
    ! grep -q '^Inst ' <<<"$sim" && exit 0
# What is missing, for the messages: what apt would install, and what it
# cannot satisfy as it is (from backports, or not in the index yet).
inst=$(packages <<<"$sim")
if [ -z "$inst" ] && [ ${#main[@]} -gt 0 ]; then
    inst=$(simulate "${main[@]}" | packages || true)
fi
unmet=$(sed -n 's/.* Depends: \(.*\) but .*/\1/p' <<<"$sim" | paste -sd ',')
missing=$inst
[ -z "$unmet" ] || missing+="${missing:+ }(${unmet//,/, })"

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing: $missing" >&2
    echo "deps: run as root, or install them yourself" >&2
    exit 1
fi

"$here/apt-sources.sh"
export DEBIAN_FRONTEND=noninteractive
# A kernel image installed here (guest) is a file for QEMU's -kernel: no
# initramfs is built for it.
export INITRD=No

satisfy() {
    local opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
    if [ ${#main[@]} -gt 0 ]; then
        apt-get satisfy "${opts[@]}" "${main[@]}" || return
    fi
    if [ ${#backports[@]} -gt 0 ]; then
        apt-get satisfy "${opts[@]}" -t "$codename-backports" "${backports[@]}" || return
    fi
}

echo "deps: installing $missing"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! satisfy >"$log" 2>&1; then
    echo "deps: refreshing the apt index"
    apt-get update -q >/dev/null
    satisfy >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
