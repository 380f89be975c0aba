#!/bin/sh
# /init of the freeze_mode demo initramfs (see docs/guest.md).
#
# Kernel log goes to ttyS0 (console=ttyS0).  The command protocol runs on
# ttyS1 (the second ISA serial port, present on pc and q35), so kernel
# messages never interleave with answers:
#   host -> guest:  "<id> <command> [args...]\n"
#   guest -> host:  any number of output lines, then "END <id> <rc>\n"
# At start the guest prints "READY variant=<v> kernel=<release>".
# Commands:
#   draw N        draw the demo picture for step N onto /dev/fb0 (fbdraw)
#   suspend [deep|s2idle]  set mem_sleep (default deep: S3; s2idle: suspend
#                 to idle) and do "echo mem > /sys/power/state"; answers
#                 after resume with the time the write took
#   dmesg [-c] [ERE]  kernel log lines matching ERE (default: PM/virtio
#                 lines); -c clears the log after reading it
#   irq           /proc/interrupts lines of the virtio-gpu device, then
#                 "IRQTOTAL <sum>"
#   info          virtio-gpu virtio device: status, features, driver,
#                 freeze_mode (bit 45) and virgl (VIRTIO_GPU_F_VIRGL, bit 0)
#                 negotiated
#   sh CMD...     run CMD with busybox sh (debugging)
#   ping          answers "pong"
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

variant=$(cat /etc/variant 2>/dev/null)
echo "init: freeze_mode demo initramfs, variant=$variant" >/dev/kmsg

# Detect a stuck virtio-gpu worker quickly (the stock path's symptom).
echo 10 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null

while read -r mod; do
    [ -n "$mod" ] || continue
    insmod "/lib/modules/$mod" || echo "init: insmod $mod failed" >/dev/kmsg
done </etc/modules.load

# freeze_mode transitions are dev_dbg: show them (insmod does not apply
# virtio_pci.dyndbg from the kernel command line, modprobe would).
echo 'module virtio_pci +p' >/sys/kernel/debug/dynamic_debug/control 2>/dev/null

# virtio-gpu probes asynchronously with respect to us (and again after
# it lost its state over a sleep): wait for fb0, and keep fbcon off it,
# since the VT switch around suspend and the blinking cursor would repaint
# our picture.
fb_ready() (
    set +f
    i=0
    while [ ! -e /dev/fb0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    for v in /sys/class/vtconsole/vtcon*; do
        if grep -qi "frame buffer" "$v/name" 2>/dev/null; then
            echo 0 >"$v/bind"
        fi
    done
)
fb_ready

# The desktop VM's commands (run-desktop.py), sourced when present.
desktop=""
if [ -f /etc/desktop.sh ]; then
    . /etc/desktop.sh
    desktop_setup
    desktop=1
fi

[ -w /sys/power/mem_sleep ] && echo deep >/sys/power/mem_sleep 2>/dev/null
# "PM: resume of devices complete after X msecs" needs pm_debug_messages.
echo 1 >/sys/power/pm_debug_messages 2>/dev/null

gpu_dev() {
    # (no globbing: the command loop runs with set -f)
    ls /sys/bus/virtio/drivers/virtio_gpu 2>/dev/null | grep -m1 '^virtio[0-9]'
}

run() {
    case "$1" in
    ping) echo pong ;;
    draw) fb_ready; /bin/fbdraw "${2:-0}" ;;
    suspend)
        echo "${2:-deep}" >/sys/power/mem_sleep || return 1
        echo "mem_sleep: $(cat /sys/power/mem_sleep 2>/dev/null)"
        t0=$(cut -d' ' -f1 /proc/uptime)
        echo "SUSPENDING"
        echo mem >/sys/power/state
        rc=$?
        t1=$(cut -d' ' -f1 /proc/uptime)
        echo "RESUMED rc=$rc uptime_before=$t0 uptime_after=$t1"
        return $rc
        ;;
    dmesg)
        shift
        clear=""
        [ "$1" = "-c" ] && { clear=-c; shift; }
        pat=${*:-"PM:|virtio|freeze|hung|blocked|resume|suspend|ACPI: (PM|Low-level)"}
        dmesg $clear | grep -E "$pat"
        return 0
        ;;
    irq)
        g=$(gpu_dev)
        [ -n "$g" ] || { echo "no virtio-gpu device"; return 1; }
        grep -E "$g(-| |\$)" /proc/interrupts
        grep -E "$g(-| |\$)" /proc/interrupts | awk -v n="$(grep -c ^processor /proc/cpuinfo)" \
            '{ for (i = 2; i <= n + 1; i++) s += $i } END { print "IRQTOTAL " s + 0 }'
        ;;
    info)
        g=$(gpu_dev)
        [ -n "$g" ] || { echo "no virtio-gpu device"; return 1; }
        echo "device=$g"
        echo "status=$(cat /sys/bus/virtio/devices/$g/status)"
        echo "features=$(cat /sys/bus/virtio/devices/$g/features)"
        f=$(cat /sys/bus/virtio/devices/$g/features)
        echo "freeze_mode_negotiated=$(echo "$f" | cut -c46)"
        echo "virgl=$(echo "$f" | cut -c1)"
        echo "pci=$(basename "$(readlink -f /sys/bus/virtio/devices/$g/..)")"
        echo "mem_sleep=$(cat /sys/power/mem_sleep)"
        ;;
    sh) shift; sh -c "$*" ;;
    *)
        [ -z "$desktop" ] || { desktop_run "$@"; return; }
        echo "unknown command: $1"; return 2
        ;;
    esac
}

stty -F /dev/ttyS1 115200 raw -echo 2>/dev/null
exec </dev/ttyS1 >/dev/ttyS1 2>&1
echo "READY variant=$variant kernel=$(uname -r)"
set -f
while read -r id cmd; do
    [ -n "$id" ] || continue
    # shellcheck disable=SC2086
    run $cmd
    echo "END $id $?"
done
echo "init: command channel closed" >/dev/kmsg
while :; do sleep 3600; done
