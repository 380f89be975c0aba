#!/bin/bash
# make bisect: build each commit of the series in WORKTREE (a worktree of TREE)
# and OBJ, and run the qtests it adds or changes; FIRST skips those before.
#   bisect-series.sh TREE WORKTREE OBJ [FIRST]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=$(realpath "$1")
obj=$(realpath "$3")
out=$(dirname "$obj")
n=0
for c in $(git -C "$tree" rev-list --reverse prep..series); do
    n=$((n + 1))
    [ "$n" -ge "${4:-1}" ] || continue
    subject=$(git -C "$tree" log -1 --format=%s "$c")
    git -C "$2" checkout -q -f --detach "$c"
    # the qtests this commit adds or changes; qos-test for an upstream qtest or libqos file
    ours=$(git -C "$tree" diff --name-only --diff-filter=A prep "$c" -- 'tests/qtest/*-test.c')
    tests=$(for f in $(git -C "$tree" diff --name-only "$c^" "$c" -- tests/qtest); do
        if grep -qxF "$f" <<< "$ours"; then
            echo "${f%.c}"
        elif [ "${f##*/}" != meson.build ] && git -C "$tree" cat-file -e "prep:$f" 2>/dev/null; then
            echo tests/qtest/qos-test
        fi
    done | sort -u | xargs)
    # shellcheck disable=SC2086
    if ! ninja -C "$obj" qemu-system-x86_64 qemu-img storage-daemon/qemu-storage-daemon \
            tests/vhost-user-bridge $tests > "$out/$n.build.log" 2>&1; then
        echo "bisect: $n $subject: BUILD FAILED ($out/$n.build.log)"
        exit 1
    fi
    "$here/link-firmware.sh" "$obj" > /dev/null
    result="built"
    if [ -n "$tests" ]; then
        # through meson's test runner: the environment meson.build gives
        log=$out/$n.qtest.log
        # shellcheck disable=SC2046
        if ! QTEST_FREEZE_STEPS=2000 "$here/run-qtests.sh" "$obj" \
                $(for t in $tests; do echo "qtest-x86_64/${t##*/}"; done) > "$log" 2>&1; then
            echo "bisect: $n $subject: $tests FAILED ($log)"
            exit 1
        fi
        result="$result, $(grep '^qtest:' "$log")"
    fi
    echo "bisect: $n $subject: $result"
done
