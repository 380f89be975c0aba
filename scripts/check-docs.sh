#!/bin/bash
# make check-docs: the series' rST pages build with Sphinx without a warning,
# and the virtio spec patch passes check-spec.py against VIRTIO_SPEC_DIR.
#   check-docs.sh VIRTIO_SPEC_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
spec=${1:?usage: check-docs.sh VIRTIO_SPEC_DIR}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

# One Sphinx project (the pages link to each other; QEMU's docs need --enable-docs)
mapfile -t pages < <(find "$here/../hw-virtio/docs" -name '*.rst' | sort)
[ ${#pages[@]} -gt 0 ] || { echo "check-docs: no rST pages found" >&2; exit 1; }
cp "${pages[@]}" "$d/"
names=("${pages[@]##*/}")
printf "project = 'freeze_mode'\nmaster_doc = 'index'\n" > "$d/conf.py"
printf 'pages\n=====\n\n.. toctree::\n\n' > "$d/index.rst"
printf '   %s\n' "${names[@]%.rst}" >> "$d/index.rst"
if ! sphinx-build -q -W -b html "$d" "$d/_build" 2> "$d/log"; then
    echo "check-docs: hw-virtio/docs: Sphinx reports:" >&2
    sed 's/^/    /' "$d/log" >&2
    exit 1
fi
echo "check-docs: ${#pages[@]} rST pages of the series build without warnings"
"$here/check-spec.py" "$spec"
