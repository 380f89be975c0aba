#!/bin/bash
# QEMU's checkpatch.pl on every commit of prep..series, as posted: fails on any
# error, shows the warnings.
#   checkpatch.sh TREE
set -uo pipefail
cd "$1" || exit 1
[ -n "$(git rev-list prep..series)" ] || { echo "checkpatch: the series is empty"; exit 1; }
./scripts/checkpatch.pl prep..series 2>&1 | sed -e '/^$/d' \
    -e '/has no obvious style problems and is ready for submission/d'
rc=${PIPESTATUS[0]}
echo "checkpatch: $(git rev-list --count prep..series) commits, $(
    [ "$rc" -eq 0 ] && echo "no errors" || echo "ERRORS")"
exit "$rc"
