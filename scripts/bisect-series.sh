#!/bin/bash
# Build every commit of the assembled series and run the qtests that exist
# at that commit: each patch must build and pass on its own.
#
#   bisect-series.sh TREE [FIRST]
#
# TREE is the assembled tree (build/qemu, branch series).  The commits are
# checked out one after the other in a worktree build/bisect/qemu and
# built in build/bisect/obj, a layout that matches build/qemu + build/obj
# so that ccache finds what the main build compiled.  FIRST (a number,
# default 1) skips the commits before it.  Prints one line per commit and
# exits non-zero at the first failure; the logs are in build/bisect/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
tree=$(realpath "$1")
first=${2:-1}
out=$top/build/bisect
wt=$out/qemu
obj=$out/obj

. "$here/series-lib.sh"
. "$here/xvfb-lib.sh"
export PATH=/usr/lib/ccache:$PATH CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1
mkdir -p "$out"
xvfb_start "$out"

# The series' own qtests, as the Makefile finds them
tests=$(cd "$top/tests-qtest" && ls -- *-test.c | sed 's/\.c$//')
n=0
for c in $(git -C "$tree" rev-list --reverse prep..series); do
    n=$((n + 1))
    [ "$n" -ge "$first" ] || continue
    subject=$(git -C "$tree" log -1 --format=%s "$c")
    side_tree "$top" "$tree" "$out" "$c"
    targets="qemu-system-x86_64"
    present=""
    for t in $tests; do
        if [ -f "$wt/tests/qtest/$t.c" ]; then
            targets="$targets tests/qtest/$t"
            present="$present $t"
        fi
    done
    # shellcheck disable=SC2086
    if ! ninja -C "$obj" $targets > "$out/$n.build.log" 2>&1; then
        echo "bisect: $n $subject: BUILD FAILED (build/bisect/$n.build.log)"
        exit 1
    fi
    "$here/link-firmware.sh" "$obj" > /dev/null
    result="built"
    for t in $present; do
        log=$out/$n.$t.log
        if ! (cd "$obj" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
              QTEST_FREEZE_STEPS=2000 timeout 900 "tests/qtest/$t" --tap) \
              > "$log" 2>&1 || grep -q '^not ok' "$log"; then
            echo "bisect: $n $subject: $t FAILED (build/bisect/$n.$t.log)"
            exit 1
        fi
        result="$result, $t $(grep -c '^ok' "$log") ok"
    done
    echo "bisect: $n $subject: $result"
done
