#!/bin/bash
# The series onto the pinned QEMU release, in TREE: tags qemu-10.0.2 and prep
# (prepare-qemu.sh), branch series (git am of patches/series), committed in a
# scratch worktree so that TREE's checkout rewrites only the changed files.
#   assemble.sh TARBALL|SRCDIR TREE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu-version.sh"
src=$(realpath "$1")
tree=$(realpath -m "$2")
wt=$tree-scratch
export GIT_AUTHOR_NAME="QEMU release" GIT_AUTHOR_EMAIL="qemu-devel@nongnu.org"
export GIT_COMMITTER_NAME="freeze-mode assembly" GIT_COMMITTER_EMAIL="assembly@localhost"
export GIT_AUTHOR_DATE="2025-07-01T00:00:00Z" GIT_COMMITTER_DATE="2025-07-01T00:00:00Z"
g() { git -C "$tree" -c core.autocrlf=false -c advice.detachedHead=false "$@"; }
gw() { git -C "$wt" -c core.autocrlf=false -c advice.detachedHead=false "$@"; }

if ! g rev-parse -q --verify "refs/tags/prep" >/dev/null 2>&1; then
    echo "assemble: creating $tree from $src"
    rm -rf "$tree" "$wt"
    mkdir -p "$tree"
    if [ -d "$src" ]; then
        cp -a "$src/." "$tree/"
        rm -rf "$tree/.git"
    else
        tar -xf "$src" -C "$tree" --strip-components=1
    fi
    g init -q -b series
    g add -A -f
    g commit -q -m "QEMU $QEMU_VERSION" --no-verify
    g tag "qemu-$QEMU_VERSION"
    prep_log=$("$here/prepare-qemu.sh" "$tree")
    g add -A -f
    g commit -q --allow-empty --no-verify -F - <<MSG
build preparation for this tree (not part of the series)

$prep_log
MSG
    g tag prep
fi

[ -d "$wt" ] || { g worktree prune; g worktree add -q --detach "$wt" prep; }
gw am --abort >/dev/null 2>&1 || true
gw checkout -q -f --detach prep
gw clean -q -fdx
n=0
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE
while read -r patch; do
    n=$((n + 1))
    if ! gw am -q --keep-cr --empty=keep --committer-date-is-author-date "$here/../patches/$patch"; then
        echo "assemble: patches/$patch does not apply" >&2
        gw am --abort || true
        exit 1
    fi
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/../patches/series")

new=$(gw rev-parse HEAD)
if [ "$new" != "$(g rev-parse -q --verify HEAD 2>/dev/null || true)" ]; then
    # Refuse to throw away work done by hand in the assembled tree.
    if [ -n "$(g status --porcelain --untracked-files=no)" ]; then
        echo "assemble: $tree has uncommitted changes; export or discard them first" >&2
        echo "assemble: (scripts/export-series.sh exports committed work)" >&2
        exit 1
    fi
    g checkout -q -B series "$new"
    echo "assemble: $tree at $(g describe --tags --always) ($n patches)"
fi
