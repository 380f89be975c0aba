#!/bin/bash
# Write the upstream-format series: git format-patch of the assembled
# commits (new files included) with a cover letter whose text is
# patches/cover-letter.txt (first paragraph: the subject).
#
#   make-series.sh TREE OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
tree=$(realpath "$1")
out=$(realpath -m "$2")

rm -rf "$out"
mkdir -p "$out"
git -C "$tree" config branch.series.description "$(cat "$top/patches/cover-letter.txt")"
git -C "$tree" -c user.name="Freeze Mode Developers" \
    -c user.email=freeze-mode@example.org format-patch -q --cover-letter --cover-from-description=subject \
    --subject-prefix="RFC PATCH" --thread=shallow -o "$out" prep..series
echo "series: $(ls "$out" | wc -l) files in $out"
ls "$out" | sed 's/^/  /'
