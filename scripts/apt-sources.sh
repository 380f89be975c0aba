#!/bin/bash
# Enable the apt entries that the build needs and a Debian 12 machine may
# lack: deb and deb-src for <codename>-backports (meson, the qemu source
# package) and deb-src for <codename>.  They are derived from the
# machine's own apt configuration: the archive is the one of apt's index
# target for <codename> main (`apt-get indextargets`), so no host name is
# written here.
#
# Writes, to $out, only the entries no other apt source has; does nothing
# (no root needed, no apt-get update) when that is what $out holds already.
set -euo pipefail

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "apt-sources: cannot tell the Debian codename" >&2; exit 1; }
out=/etc/apt/sources.list.d/qemu-freeze-mode-${codename}-backports.sources
# What signs every Debian suite, the ones added here included
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# What apt has configured: TYPE SUITE COMPONENT ARCHIVE FILE:ENTRY, an
# index target a line; configured ones count even before their index is
# downloaded (--no-release-info).
# shellcheck disable=SC2016 # apt's format variables, not the shell's
configured=$(apt-get indextargets --no-release-info \
    --format '$(TARGET_OF) $(RELEASE) $(COMPONENT) $(REPO_URI) $(SOURCESENTRY)')

# targets TYPE SUITE: the archives that apt has TYPE (deb, deb-src) of
# SUITE main from, other than through $out
targets() {
    awk -v type="$1" -v suite="$2" -v out="$out" '
        $1 == type && $2 == suite && $3 == "main" &&
        index($5, out ":") != 1 { print $4 }' <<<"$configured"
}

uri=$(targets deb "$codename" | awk 'NR == 1 { print }')
uri=${uri%/}
[ -n "$uri" ] || { echo "apt-sources: no '$codename main' entry in the apt sources to derive from" >&2; exit 1; }

# stanza SUITE TYPE...: an entry for those TYPEs of SUITE that apt lacks
stanza() {
    local suite=$1 t types=()
    shift
    for t in "$@"; do
        [ -n "$(targets "$t" "$suite")" ] || types+=("$t")
    done
    [ ${#types[@]} -gt 0 ] || return 0
    printf '\nTypes: %s\nURIs: %s\nSuites: %s\nComponents: main\n' \
        "${types[*]}" "$uri" "$suite"
    [ ! -f "$keyring" ] || printf 'Signed-By: %s\n' "$keyring"
}

want=$({ stanza "$codename-backports" deb deb-src
         stanza "$codename" deb-src; } | sed '1d')
if [ -z "$want" ]; then
    [ ! -e "$out" ] || { rm -f "$out" && apt-get update -q >/dev/null; }
    exit 0
fi
if [ -f "$out" ] && [ "$(cat "$out")" = "$want" ]; then
    exit 0
fi
echo "apt-sources: writing $out ($(awk '/^Types:/ { t = substr($0, 8) }
    /^Suites:/ { printf "%s%s: %s", sep, $2, t; sep = "; " }' <<<"$want"))"
echo "$want" > "$out"
apt-get update -q >/dev/null
