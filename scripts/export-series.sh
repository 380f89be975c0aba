#!/bin/bash
# make export: prep..series of TREE into patches/SET/ and patches/series (a new
# commit joins the set of the one before it), and the view again.
#   export-series.sh TREE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
tree=$(realpath "$1")
g() { git -C "$tree" "$@"; }

if [ -n "$(g status --porcelain --untracked-files=no)" ]; then
    echo "export-series: $tree has uncommitted changes: commit them first" >&2
    exit 1
fi
declare -A set_of=() count=()
set=
while read -r p; do
    set_of[${p#*/[0-9][0-9][0-9][0-9]-}]=${p%%/*}
    set=${set:-${p%%/*}}
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$top/patches/series")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n '/^#/p' "$top/patches/series" > "$tmp/series"
for c in $(g rev-list --reverse prep..series); do
    f=$(g format-patch -1 "$c" --zero-commit --no-signature --no-numbered -o "$tmp/one")
    name=${f##*/0001-}
    set=${set_of[$name]:-$set}
    count[$set]=$((${count[$set]:-0} + 1))
    p=$set/$(printf %04d "${count[$set]}")-$name
    mkdir -p "$tmp/$set"
    mv "$f" "$tmp/$p"
    echo "$p" >> "$tmp/series"
done
for s in "${!count[@]}"; do
    mkdir -p "$top/patches/$s"
    rm -f "$top/patches/$s"/*.patch
    cp "$tmp/$s"/*.patch "$top/patches/$s/"
done
cp "$tmp/series" "$top/patches/series"
"$here/series-view.sh" "$tree" "$top"
echo "export-series: $(grep -vc '^#' "$top/patches/series") patches exported" \
     "($(for s in "${!count[@]}"; do echo "$s ${count[$s]}"; done | sort | paste -sd, -))"
