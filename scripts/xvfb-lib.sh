# An X display for the virgl qtests (sourced).
#
# virtio-gpu-gl-freeze-test runs QEMU with "-display sdl,gl=on" and needs
# an X display with OpenGL.  xvfb_start LOGDIR: unless DISPLAY names one
# already, start an Xvfb on a free display number it picks itself
# (-displayfd), with Mesa rendering through llvmpipe, and stop it when
# the script exits.  Xvfb keeps its screen in an XWD file (-fbdir),
# QTEST_XVFB_SCREEN, where the qtests look at what the display shows.
# Without Xvfb those qtests skip, saying why.
xvfb_pid=
xvfb_stop() {
    if [ -n "$xvfb_pid" ]; then
        kill "$xvfb_pid" 2>/dev/null
        wait "$xvfb_pid" 2>/dev/null
        rm -rf "$xvfb_fb"
        xvfb_pid=
    fi
}
xvfb_start() {
    local logdir=$1 out
    if [ -n "${DISPLAY:-}" ] || ! command -v Xvfb >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "$logdir"
    out=$logdir/xvfb.display
    xvfb_fb=$(mktemp -d "${TMPDIR:-/tmp}/freeze-qtests-xvfb.XXXXXX")
    : > "$out"
    Xvfb -displayfd 3 -screen 0 1280x1024x24 -fbdir "$xvfb_fb" -br \
        -nolisten tcp -noreset 3> "$out" > "$logdir/xvfb.log" 2>&1 &
    xvfb_pid=$!
    trap xvfb_stop EXIT
    for _ in $(seq 100); do
        [ -s "$out" ] && break
        kill -0 "$xvfb_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -s "$out" ]; then
        export DISPLAY=":$(head -n1 "$out")"
        export LIBGL_ALWAYS_SOFTWARE=1
        export QTEST_XVFB_SCREEN="$xvfb_fb/Xvfb_screen0"
        echo "xvfb: Xvfb on $DISPLAY for the GL qtests"
    else
        echo "xvfb: Xvfb did not start ($logdir/xvfb.log)," \
             "the GL qtests will skip" >&2
        xvfb_stop
    fi
}
