#!/bin/bash
# Build every commit of the assembled series and run the qtests it adds
# or changes: each patch must build and pass its own tests.  (make check
# runs all of them on the whole series.)
#
#   bisect-series.sh TREE WORKTREE OBJ [FIRST]
#
# TREE is the assembled tree (build/qemu, branch series); WORKTREE a
# worktree of it and OBJ its configured build directory (make bisect sets
# up build/bisect/{qemu,obj}, a layout that lets ccache find what the main
# build compiled).  FIRST (a number, default 1) skips the commits before
# it.  Prints one line per commit and exits non-zero at the first
# failure; the logs are in the directory of OBJ.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=$(realpath "$1")
wt=$(realpath "$2")
obj=$(realpath "$3")
first=${4:-1}
out=$(dirname "$obj")

n=0
for c in $(git -C "$tree" rev-list --reverse prep..series); do
    n=$((n + 1))
    [ "$n" -ge "$first" ] || continue
    subject=$(git -C "$tree" log -1 --format=%s "$c")
    git -C "$wt" checkout -q -f --detach "$c"
    # The qtests of the series that this commit adds or changes, and
    # qos-test if it changes an upstream qtest or libqos file (they are
    # built into qos-test)
    ours=$(git -C "$tree" diff --name-only --diff-filter=A prep "$c" -- \
           'tests/qtest/*-test.c')
    tests=
    for f in $(git -C "$tree" diff --name-only "$c^" "$c" -- tests/qtest); do
        if grep -qxF "$f" <<< "$ours"; then
            tests="$tests ${f%.c}"
        elif [ "${f##*/}" != meson.build ] &&
             git -C "$tree" cat-file -e "prep:$f" 2>/dev/null; then
            tests="$tests tests/qtest/qos-test"
        fi
    done
    tests=$(tr ' ' '\n' <<< "$tests" | sort -u | xargs)
    # shellcheck disable=SC2086
    if ! ninja -C "$obj" qemu-system-x86_64 storage-daemon/qemu-storage-daemon \
            tests/vhost-user-bridge $tests > "$out/$n.build.log" 2>&1; then
        echo "bisect: $n $subject: BUILD FAILED ($out/$n.build.log)"
        exit 1
    fi
    "$here/link-firmware.sh" "$obj" > /dev/null
    result="built"
    for t in $tests; do
        log=$out/$n.${t##*/}.log
        if ! (cd "$obj" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
              QTEST_FREEZE_STEPS=2000 timeout 900 "$t" --tap) \
              > "$log" 2>&1 || grep -q '^not ok' "$log"; then
            echo "bisect: $n $subject: $t FAILED ($log)"
            exit 1
        fi
        result="$result, ${t##*/} $(grep -c '^ok' "$log") ok"
    done
    echo "bisect: $n $subject: $result"
done
