#!/bin/bash
# Check the documentation the series and this repository carry:
#   - the rST pages the series adds (hw-virtio/docs/) build with Sphinx
#     without a warning, together (they link to each other);
#   - the virtio specification patch applies to VIRTIO_SPEC and passes
#     scripts/check-spec.py.
# (checkpatch runs from the Makefile.)
#
#   check-docs.sh VIRTIO_SPEC_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
spec=${1:?usage: check-docs.sh VIRTIO_SPEC_DIR}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The pages the series adds, in one standalone Sphinx project (they link
# to each other): QEMU's own docs build needs the whole tree configured
# with --enable-docs.
n=0
d="$tmp/rst"
mkdir -p "$d"
printf "project = 'freeze_mode'\nmaster_doc = 'index'\n" > "$d/conf.py"
printf 'pages\n=====\n\n.. toctree::\n\n' > "$d/index.rst"
while read -r rst; do
    n=$((n + 1))
    cp "$rst" "$d/"
    printf '   %s\n' "$(basename "$rst" .rst)" >> "$d/index.rst"
done < <(find "$top/hw-virtio/docs" -name '*.rst' | sort)
if ! sphinx-build -q -W -b html "$d" "$d/_build" 2> "$d/log"; then
    echo "check-docs: hw-virtio/docs: Sphinx reports:" >&2
    sed 's/^/    /' "$d/log" >&2
    exit 1
fi
echo "check-docs: $n rST pages of the series build without warnings"
[ $n -gt 0 ] || { echo "check-docs: no rST pages found" >&2; exit 1; }

"$here/check-spec.py" "$spec"
