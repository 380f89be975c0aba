#!/bin/bash
# Run qtests through meson's test runner and print one summary line
# counting the test cases (TAP lines) of all of them:
#   qtest: N passed, N failed, N skipped
#
#   run-qtests.sh BUILD_DIR TEST...
set -uo pipefail
build=$1
shift

cd "$build" || exit 1

# The virgl qtests (virtio-gpu-gl-freeze-test) run QEMU with
# "-display sdl,gl=on" and need an X display with OpenGL.  Unless DISPLAY
# names one already, start an Xvfb for the run, on a free display number
# it picks itself (-displayfd), and Mesa renders with llvmpipe.  Xvfb
# keeps its screen in an XWD file (-fbdir), QTEST_XVFB_SCREEN, where the
# qtests look at what the display shows.  Without Xvfb those qtests skip,
# saying why.
xvfb_pid=
stop_xvfb() {
    if [ -n "$xvfb_pid" ]; then
        kill "$xvfb_pid" 2>/dev/null
        wait "$xvfb_pid" 2>/dev/null
        rm -rf "$xvfb_fb"
    fi
}
if [ -z "${DISPLAY:-}" ] && command -v Xvfb >/dev/null 2>&1; then
    mkdir -p meson-logs
    xvfb_out=meson-logs/freeze-qtests-xvfb.display
    xvfb_fb=$(mktemp -d "${TMPDIR:-/tmp}/freeze-qtests-xvfb.XXXXXX")
    : > "$xvfb_out"
    Xvfb -displayfd 3 -screen 0 1280x1024x24 -fbdir "$xvfb_fb" -br \
        -nolisten tcp -noreset \
        3> "$xvfb_out" > meson-logs/freeze-qtests-xvfb.log 2>&1 &
    xvfb_pid=$!
    trap stop_xvfb EXIT
    for _ in $(seq 100); do
        [ -s "$xvfb_out" ] && break
        kill -0 "$xvfb_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -s "$xvfb_out" ]; then
        export DISPLAY=":$(head -n1 "$xvfb_out")"
        export LIBGL_ALWAYS_SOFTWARE=1
        export QTEST_XVFB_SCREEN="$xvfb_fb/Xvfb_screen0"
        echo "run-qtests: Xvfb on $DISPLAY for the GL qtests"
    else
        echo "run-qtests: Xvfb did not start (meson-logs/freeze-qtests-xvfb.log)," \
             "the GL qtests will skip" >&2
        stop_xvfb
        xvfb_pid=
    fi
fi

pyvenv/bin/meson test --no-rebuild --print-errorlogs --num-processes 1 \
    --logbase freeze-qtests "$@"
rc=$?

/usr/bin/python3 - "$build/meson-logs/freeze-qtests.json" <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    bad = 0
    for l in t.get("stdout", "").splitlines():
        m = re.match(r"(not ok|ok)\b(.*)", l)
        if not m:
            continue
        if re.search(r"#\s*SKIP", m.group(2), re.I):
            skipped += 1
        elif m.group(1) == "ok":
            passed += 1
        else:
            bad += 1
    # A binary that crashed or timed out stopped before reporting the
    # case it died in: count that case as failed.
    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
        bad = 1
    failed += bad
    print("%-40s %s" % (t["name"], t["result"]))
print("qtest: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
PY
exit $rc
