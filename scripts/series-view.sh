#!/bin/bash
# Write the view of the series: every file the series adds, whole, as
# the full series leaves it, under OUT/hw-virtio/ (hw/virtio/, include/
# and docs/ files) and OUT/tests-qtest/ (tests/qtest/ files).  The view
# is written by `make export` and compared by `make check-view`; the
# patches are the authority.
#
#   series-view.sh TREE OUT
set -euo pipefail
tree=$(realpath "$1")
out=$2
rm -rf "$out/hw-virtio" "$out/tests-qtest"
git -C "$tree" diff --name-only --diff-filter=A prep series |
while read -r f; do
    case "$f" in
    hw/virtio/*) v=hw-virtio/${f#hw/virtio/} ;;
    include/* | docs/*) v=hw-virtio/$f ;;
    tests/qtest/*) v=tests-qtest/${f#tests/qtest/} ;;
    *) echo "series-view: $f: no place in the view" >&2; exit 1 ;;
    esac
    mkdir -p "$out/$(dirname "$v")"
    git -C "$tree" show "series:$f" > "$out/$v"
done
