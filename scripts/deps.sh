#!/bin/bash
# Install groups of scripts/deps.txt with apt-get satisfy: with nothing missing,
# one simulation (no root, no apt-get update).  DEPENDENCY: more, in Depends
# syntax, that only the caller can name (fetch-guest.sh: the kernel ABI).
#   deps.sh GROUP... [-- DEPENDENCY...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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
    grep -q "^${g}[@[:space:]]" "$here/deps.txt" ||
        { echo "deps: no group '$g' in $here/deps.txt" >&2; exit 2; }
    mapfile -t -O ${#main[@]} main < <(sed -n "s/^${g}[[:space:]]\+//p" "$here/deps.txt")
    mapfile -t -O ${#backports[@]} backports < <(sed -n "s/^$g@backports[[:space:]]\+//p" "$here/deps.txt")
done

simulate() { apt-get satisfy -s -q --no-install-recommends "$@" 2>&1; }
packages() { sed -n 's/^Inst \([^ ]*\).*/\1/p' | paste -sd ' '; }
# What is installed satisfies the backports lines too: one simulation, without -t
sim=$(simulate "${main[@]}" "${backports[@]}") && ! grep -q '^Inst ' <<<"$sim" && exit 0
# What apt would install, and what it cannot satisfy yet (backports, stale index)
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
# INITRD=No: a kernel image installed here (guest) is a file for -kernel
export DEBIAN_FRONTEND=noninteractive INITRD=No
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
# Debian's ccache links only the compilers installed before it (clang: fuzz)
! command -v update-ccache-symlinks >/dev/null || update-ccache-symlinks
