#!/bin/bash
# Export the series from the assembled tree back into the repository:
# the commits prep..HEAD become patches/NNNN-*.patch and patches/series;
# the files a commit adds under hw/virtio/, include/hw/virtio/, docs/ or
# tests/qtest/ are written whole to hw-virtio/ and tests-qtest/ instead
# of appearing in the patch (scripts/series-lib.sh has the mapping).
#
#   export-series.sh TREE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/series-lib.sh"
tree=$(realpath "$1")
g() { git -C "$tree" "$@"; }

if [ -n "$(g status --porcelain --untracked-files=no)" ]; then
    echo "export-series: $tree has uncommitted changes: commit them first" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
series="$tmp/series"
echo "# QEMU series: applied in this order onto QEMU 10.0.2 by scripts/assemble.sh." > "$series"
echo "# Each line: a patch, then the new files (kept whole in this repo) that the" >> "$series"
echo "# same commit adds." >> "$series"

declare -A owner=()
n=0
for c in $(g rev-list --reverse prep..HEAD); do
    n=$((n + 1))
    new=()
    excl=()
    while read -r f; do
        if r=$(qemu_to_repo_path "$f"); then
            new+=("$r")
            excl+=(":(exclude)$f")
            owner[$f]=$n
            mkdir -p "$tmp/files/$(dirname "$r")"
            g show "$c:$f" > "$tmp/files/$r"
        fi
    done < <(g diff-tree --no-commit-id --name-only -r --diff-filter=A "$c")
    # A later commit that edits a file kept whole would split its truth.
    while read -r f; do
        if [ -n "${owner[$f]:-}" ] && [ "${owner[$f]}" != "$n" ]; then
            echo "export-series: commit $n edits $f, added whole by commit ${owner[$f]}:" >&2
            echo "export-series: fold the change into that commit" >&2
            exit 1
        fi
    done < <(g diff-tree --no-commit-id --name-only -r --diff-filter=M "$c")
    name=$(g format-patch -1 "$c" --zero-commit --no-signature --no-numbered \
           --start-number "$n" -o "$tmp/patches" -- . "${excl[@]}")
    echo "$(basename "$name")${new[*]:+ ${new[*]}}" >> "$series"
done

rm -f "$top"/patches/*.patch
mkdir -p "$top/patches"
cp "$tmp"/patches/*.patch "$top/patches/" 2>/dev/null || true
cp "$series" "$top/patches/series"
if [ -d "$tmp/files" ]; then
    cp -r "$tmp/files/." "$top/"
fi
echo "export-series: $n patches exported to patches/"
