#!/bin/bash
# The apt entries a Debian 12 machine may lack: deb and deb-src of
# <codename>-backports, deb-src of <codename>, on the archive apt has for
# <codename> main (no host name written here).  No-op when $out is right.
set -euo pipefail
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "apt-sources: cannot tell the Debian codename" >&2; exit 1; }
out=/etc/apt/sources.list.d/qemu-freeze-mode-${codename}-backports.sources
keyring=/usr/share/keyrings/debian-archive-keyring.gpg  # signs every Debian suite

# apt's index targets, those not downloaded yet too: TYPE SUITE COMPONENT ARCHIVE FILE:ENTRY
# shellcheck disable=SC2016 # apt's format variables, not the shell's
configured=$(apt-get indextargets --no-release-info \
    --format '$(TARGET_OF) $(RELEASE) $(COMPONENT) $(REPO_URI) $(SOURCESENTRY)')
# targets TYPE SUITE: the archives apt has TYPE of SUITE main from, but $out
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
elif [ ! -f "$out" ] || [ "$(cat "$out")" != "$want" ]; then
    echo "apt-sources: writing $out ($(awk '/^Types:/ { t = substr($0, 8) }
        /^Suites:/ { printf "%s%s: %s", sep, $2, t; sep = "; " }' <<<"$want"))"
    echo "$want" > "$out"
    apt-get update -q >/dev/null
fi
