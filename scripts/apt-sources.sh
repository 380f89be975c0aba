#!/bin/bash
# Enable the deb-src and backports entries that fetching QEMU's source and
# its build dependencies need, derived from the machine's own apt sources:
# no archive host name is written here, it is taken from what apt already
# uses for the distribution's main suite.
#
# Idempotent: does nothing when the entry already exists. Needs root.
set -euo pipefail

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "apt-sources: cannot tell the Debian codename" >&2; exit 1; }
out=/etc/apt/sources.list.d/qemu-freeze-mode-${codename}-backports.sources

if [ -f "$out" ]; then
    exit 0
fi

uri=""
keyring=""
# deb822 files first (Debian 12 default), then one-line sources.list.
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # Walk stanzas; pick the first whose Suites has the bare codename.
    read -r uri keyring < <(awk -v cn="$codename" '
        function flush() {
            if (u != "" && s ~ ("(^| )" cn "( |$)") && t ~ /(^| )deb( |$)/) {
                print u, (k == "" ? "-" : k); found = 1; exit
            }
            u = ""; s = ""; t = ""; k = ""
        }
        /^[ \t]*$/ { flush(); next }
        /^URIs:/ { u = $2 }
        /^Suites:/ { $1 = ""; s = $0; sub(/^ /, "", s) }
        /^Types:/ { $1 = ""; t = $0 }
        /^Signed-By:/ { k = $2 }
        END { if (!found) flush() }
    ' "$f") || true
    [ -n "$uri" ] && break
done
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk -v cn="$codename" '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == cn) { print $i; exit } }' /etc/apt/sources.list)
    keyring="-"
fi
[ -n "$uri" ] || { echo "apt-sources: no '$codename' entry in the apt sources to derive from" >&2; exit 1; }

echo "apt-sources: adding deb/deb-src for ${codename}-backports and deb-src for ${codename} (from the existing ${codename} entry) to $out"
{
    echo "Types: deb deb-src"
    echo "URIs: $uri"
    echo "Suites: ${codename}-backports"
    echo "Components: main"
    [ "$keyring" != "-" ] && [ -n "$keyring" ] && echo "Signed-By: $keyring"
    echo
    echo "Types: deb-src"
    echo "URIs: $uri"
    echo "Suites: ${codename}"
    echo "Components: main"
    [ "$keyring" != "-" ] && [ -n "$keyring" ] && echo "Signed-By: $keyring"
} > "$out"
apt-get update -q >/dev/null
