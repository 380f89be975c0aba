#!/bin/bash
# Write the SeaBIOS patches (patches/seabios/series, git format-patch
# output against upstream SeaBIOS master) in the form they are mailed in:
# To: seabios@seabios.org, "[PATCH]" or "[PATCH n/m]" (VERSION 2 on:
# "[PATCH v2 ...]"), ready for git send-email.
#
#   make-series-seabios.sh OUTDIR [VERSION]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=$(realpath -m "$1")
version=${2:-1}
dir=$top/patches/seabios
mapfile -t patches < <(grep -v '^#' "$dir/series" | grep -v '^[[:space:]]*$')
n=${#patches[@]}

rm -rf "$out"
mkdir -p "$out"
i=0
for p in "${patches[@]}"; do
    i=$((i + 1))
    tag=PATCH
    [ "$version" -gt 1 ] && tag="$tag v$version"
    [ "$n" -gt 1 ] && tag="$tag $i/$n"
    # the header ends at the first empty line: set the subject prefix,
    # add the list after the Date
    awk -v tag="$tag" '
        !body && /^Subject: \[PATCH[^]]*\] / { sub(/^Subject: \[PATCH[^]]*\] /, "Subject: [" tag "] ") }
        !body && /^Date: / { print; print "To: seabios@seabios.org"; next }
        !body && /^$/ { body = 1 }
        { print }' "$dir/$p" > "$out/$p"
    grep -q '^To: seabios@seabios.org$' "$out/$p" ||
        { echo "series-seabios: $p: no Date header" >&2; exit 1; }
done
echo "series-seabios: $n patch(es) in $out, To: seabios@seabios.org"
ls "$out" | sed 's/^/  /'
