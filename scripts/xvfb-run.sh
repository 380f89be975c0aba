#!/bin/bash
# Run a command on an X display with OpenGL: the one way the virgl qtests
# (scripts/run-qtests.sh) and the GL guest runs (mk/guest.mk, run-s3.py)
# get one.
#
#   xvfb-run.sh LOGDIR CMD...
#
# Unless DISPLAY names one already, start an Xvfb on a free display number
# it picks itself (-displayfd), with Mesa rendering through llvmpipe, run
# CMD there and stop Xvfb; exits with CMD's status.  Xvfb keeps its screen
# in an XWD file (-fbdir), QTEST_XVFB_SCREEN, where the qtests and
# run-s3.py look at what the display shows.  Without Xvfb, CMD runs
# without a display: the GL qtests skip, saying why.
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
