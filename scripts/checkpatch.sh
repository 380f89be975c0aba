#!/bin/bash
# QEMU's scripts/checkpatch.pl on the series, in its commit range mode
# (prep..series: every commit, the new files included, as posted).
# Fails on any error; warnings are shown.
#
#   checkpatch.sh TREE
set -uo pipefail
tree=$(realpath "$1")
cd "$tree" || exit 1
[ -n "$(git rev-list prep..series)" ] || { echo "checkpatch: the series is empty"; exit 1; }
./scripts/checkpatch.pl prep..series 2>&1 | sed -e '/^$/d' \
    -e '/has no obvious style problems and is ready for submission/d'
rc=${PIPESTATUS[0]}
echo "checkpatch: $(git rev-list --count prep..series) commits, $(
    [ "$rc" -eq 0 ] && echo "no errors" || echo "ERRORS")"
exit "$rc"
