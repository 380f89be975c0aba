#!/bin/bash
# Run QEMU's scripts/checkpatch.pl on every commit of the series (with the
# new files included, as the series is posted).  Fails on any error;
# warnings are shown.
#
#   checkpatch.sh TREE
set -uo pipefail
tree=$(realpath "$1")
cd "$tree" || exit 1
fail=0
n=0
for c in $(git rev-list --reverse prep..HEAD); do
    n=$((n + 1))
    out=$(git format-patch -1 --stdout "$c" | ./scripts/checkpatch.pl -q - 2>&1)
    rc=$?
    subj=$(git log -1 --format=%s "$c")
    if [ $rc -ne 0 ]; then
        echo "checkpatch: FAIL $n/$subj"
        echo "$out" | sed 's/^/    /'
        fail=1
    else
        echo "checkpatch: ok   $n/$subj${out:+ (warnings)}"
        [ -n "$out" ] && echo "$out" | sed 's/^/    /'
    fi
done
[ $n -gt 0 ] || echo "checkpatch: the series is empty"
exit $fail
