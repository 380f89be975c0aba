#!/bin/bash
# Run CMD on an Xvfb display of its own with OpenGL (llvmpipe), unless DISPLAY
# names one: the virgl qtests and GL guest runs read its screen from
# $QTEST_XVFB_SCREEN.  Without Xvfb, CMD runs without (the GL tests skip).
#   xvfb-run.sh LOGDIR CMD...
set -u
logdir=$1
shift
if [ -n "${DISPLAY:-}" ] || ! command -v Xvfb >/dev/null 2>&1; then
    exec "$@"
fi
mkdir -p "$logdir"
out=$logdir/xvfb.display
fb=$(mktemp -d "${TMPDIR:-/tmp}/freeze-xvfb.XXXXXX")
: > "$out"
Xvfb -displayfd 3 -screen 0 1280x1024x24 -fbdir "$fb" -br \
    -nolisten tcp -noreset 3> "$out" > "$logdir/xvfb.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$fb"' EXIT
for _ in $(seq 100); do
    if [ -s "$out" ] || ! kill -0 $pid 2>/dev/null; then break; fi
    sleep 0.1
done
if [ -s "$out" ]; then
    DISPLAY=":$(head -n1 "$out")"
    export DISPLAY LIBGL_ALWAYS_SOFTWARE=1 QTEST_XVFB_SCREEN=$fb/Xvfb_screen0
    echo "xvfb: Xvfb on $DISPLAY"
else
    echo "xvfb: Xvfb did not start ($logdir/xvfb.log), the GL tests will skip" >&2
fi
"$@"
