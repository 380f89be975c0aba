#!/bin/bash
# patches/linux/6.12/ from pristine..HEAD of TREE (default build/guest/
# linux-6.12), every commit authored and signed off by the sender's git identity
# (unset and placeholder identities refused: re-author with git rebase --exec
# 'git commit --amend --no-edit --reset-author -s' pristine).
#   export-linux.sh [TREE]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tree=${1:-$top/build/guest/linux-6.12}
out=$top/patches/linux/6.12
die() { echo "export-linux: $*" >&2; exit 1; }

. "$top/scripts/identity.sh"
who="$name <$email>"

[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
    die "$tree has uncommitted changes"
n=0
for c in $(git -C "$tree" rev-list --reverse pristine..HEAD); do
    n=$((n + 1))
    a=$(git -C "$tree" log -1 --format='%an <%ae>' "$c")
    s=$(git -C "$tree" log -1 --format=%s "$c")
    [ "$a" = "$who" ] || die "\"$s\" is authored by $a, not by $who"
    git -C "$tree" log -1 --format=%B "$c" | grep -qxF "Signed-off-by: $who" ||
        die "\"$s\" has no Signed-off-by: $who"
done
[ $n -gt 0 ] || die "no commits in pristine..HEAD of $tree"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$tree" format-patch -q --no-signature -o "$tmp" pristine..HEAD
rm -f "$out"/*.patch
cp "$tmp"/*.patch "$out/"
(cd "$out" && ls -1 [0-9]*.patch) >"$out/series"
echo "export-linux: $n patches from $tree as $who -> $out"
