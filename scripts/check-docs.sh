#!/bin/bash
# Check the documentation the series and this repository carry:
#   - the rST pages the series adds (hw-virtio/docs/) build with Sphinx
#     without a warning;
#   - the virtio specification patch applies to VIRTIO_SPEC and passes
#     scripts/check-spec.sh.
# (checkpatch runs from the Makefile.)
#
#   check-docs.sh VIRTIO_SPEC_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
spec=${1:?usage: check-docs.sh VIRTIO_SPEC_DIR}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each page on its own, as a standalone Sphinx project: QEMU's own
# docs build needs the whole tree configured with --enable-docs.
n=0
while read -r rst; do
    n=$((n + 1))
    d="$tmp/rst$n"
    mkdir -p "$d"
    cp "$rst" "$d/index.rst"
    printf "project = 'freeze_mode'\nmaster_doc = 'index'\n" > "$d/conf.py"
    if ! sphinx-build -q -W -b html "$d" "$d/_build" 2> "$d/log"; then
        echo "check-docs: ${rst#$top/}: Sphinx reports:" >&2
        sed 's/^/    /' "$d/log" >&2
        exit 1
    fi
    echo "check-docs: ${rst#$top/}: builds without warnings"
done < <(find "$top/hw-virtio/docs" -name '*.rst' | sort)
[ $n -gt 0 ] || { echo "check-docs: no rST pages found" >&2; exit 1; }

"$here/check-spec.sh" "$spec"
