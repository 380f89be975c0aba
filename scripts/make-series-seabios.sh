#!/bin/bash
# make series-seabios: patches/seabios/ as mailed, To: seabios@seabios.org,
# "[PATCH]" or "[PATCH n/m]", "[PATCH v2 ...]" from VERSION 2 on.
#   make-series-seabios.sh OUTDIR [VERSION]
set -euo pipefail
dir=$(cd "$(dirname "$0")/../patches/seabios" && pwd)
out=$(realpath -m "$1")
mapfile -t patches < <(grep -v '^#' "$dir/series" | grep -v '^[[:space:]]*$')
n=${#patches[@]}
rm -rf "$out"
mkdir -p "$out"
for i in "${!patches[@]}"; do
    p=${patches[$i]}
    tag=PATCH
    [ "${2:-1}" -gt 1 ] && tag="$tag v$2"
    [ "$n" -gt 1 ] && tag="$tag $((i + 1))/$n"
    # in the header (to the first empty line): the subject prefix, the list after Date
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
