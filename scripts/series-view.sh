#!/bin/bash
# The view of the series: every file it adds, whole, as it leaves it, in
# OUT/hw-virtio/ (hw/virtio/, include/, docs/) and OUT/tests-qtest/.
#   series-view.sh TREE OUT
set -euo pipefail
rm -rf "$2/hw-virtio" "$2/tests-qtest"
git -C "$1" diff --name-only --diff-filter=A prep series |
while read -r f; do
    case "$f" in
    hw/virtio/*) v=hw-virtio/${f#hw/virtio/} ;;
    include/* | docs/*) v=hw-virtio/$f ;;
    tests/qtest/*) v=tests-qtest/${f#tests/qtest/} ;;
    *) echo "series-view: $f: no place in the view" >&2; exit 1 ;;
    esac
    mkdir -p "$2/$(dirname "$v")"
    git -C "$1" show "series:$f" > "$2/$v"
done
