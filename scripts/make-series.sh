#!/bin/bash
# Write the upstream-format series: git format-patch of the assembled
# commits (new files included) with a cover letter whose text is
# patches/cover-letter.txt (first paragraph: the subject), addressed as
# QEMU's .gitpublish does: To qemu-devel, Cc what scripts/get_maintainer.pl
# says for the series.
#
#   make-series.sh TREE OUTDIR [VERSION] [PREFIX]
#
# VERSION (default 1) gives "[PATCH v2 ...]" from 2 on; PREFIX defaults to
# "RFC PATCH".  The tree is also left ready for git-publish (the branch
# description is the cover letter): cd TREE && git publish --base prep
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
tree=$(realpath "$1")
out=$(realpath -m "$2")
version=${3:-1}
prefix=${4:-RFC PATCH}

rm -rf "$out"
mkdir -p "$out/tmp"
g() {
    git -C "$tree" -c user.name="Freeze Mode Developers" \
        -c user.email=freeze-mode@example.org "$@"
}
g config branch.series.description "$(cat "$top/patches/cover-letter.txt")"

# Cc: the maintainers of what the series touches, as .gitpublish's cccmd
g format-patch -q -o "$out/tmp" prep..series
cc=$(cd "$tree" && for p in "$out"/tmp/*.patch; do
        ./scripts/get_maintainer.pl --noroles --norolestats --nogit \
            --nogit-fallback "$p" 2>/dev/null
     done | grep -v '^qemu-devel@nongnu.org$' | sort -u)
rm -rf "$out/tmp"

args=(--cover-letter --cover-from-description=subject --thread=shallow
      --subject-prefix="$prefix" --to=qemu-devel@nongnu.org)
[ "$version" -gt 1 ] && args+=(--reroll-count="$version")
while IFS= read -r addr; do
    [ -n "$addr" ] && args+=(--cc="$addr")
done <<< "$cc"
g format-patch -q "${args[@]}" -o "$out" prep..series
echo "series: $(ls "$out" | wc -l) files in $out, To: qemu-devel@nongnu.org"
echo "$cc" | sed 's/^/  Cc: /'
ls "$out" | sed 's/^/  /'
