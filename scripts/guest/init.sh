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
#   devices       a line per virtio device: driver, device ID, status,
#                 features
#   paths         the path each device took on the last sleep
#   blkstart, blkcheck, blksize, net, rng, tablet, hvc WORD: the desktop
#                 VM's devices at work (run-s3.py --desktop)
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

# freeze_mode transitions and the core's "stopped in place"/"resumed in
# place" are dev_dbg: show them (insmod does not apply virtio_pci.dyndbg
# from the kernel command line, modprobe would).
for m in virtio_pci virtio; do
    echo "module $m +p" >/sys/kernel/debug/dynamic_debug/control 2>/dev/null
done
cat >/etc/udhcpc.script <<'EOF'
#!/bin/sh
case "$1" in
bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    echo "NET lease $ip on $interface"
    ;;
esac
EOF
chmod +x /etc/udhcpc.script
ip link set lo up 2>/dev/null
ip link set eth0 up 2>/dev/null

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

[ -w /sys/power/mem_sleep ] && echo deep >/sys/power/mem_sleep 2>/dev/null
# "PM: resume of devices complete after X msecs" needs pm_debug_messages.
echo 1 >/sys/power/pm_debug_messages 2>/dev/null

driver() {
    basename "$(readlink "/sys/bus/virtio/devices/$1/driver" 2>/dev/null)" 2>/dev/null
}

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
    devices)
        # one line per device: its driver, device ID, status and features (bit 0 first)
        for d in $(ls /sys/bus/virtio/devices); do
            p=/sys/bus/virtio/devices/$d
            drv=$(driver "$d")
            echo "DEV $d driver=${drv:-none} device=$(cat "$p/device") status=$(cat "$p/status") features=$(cat "$p/features")"
        done
        ;;
    paths)
        # the path of each device on the last sleep (kernel log since "dmesg -c"): gone,
        # recovered (lost its state or reset for the sleep: reset, re-initialised or
        # probed again), reset (today's), kept
        log=$(dmesg)
        for d in $(ls /sys/bus/virtio/devices); do
            path=reset
            for p in "gone:device is gone" "recovered:device (lost its state|was reset for this)" \
                "reset:device (refused to stop|did not stop)" "kept:resumed in place"; do
                if echo "$log" | grep -qE " $d: ${p#*:}"; then
                    path=${p%%:*}
                    break
                fi
            done
            drv=$(driver "$d")
            echo "PATH $d ${drv:-none} $path"
        done
        ;;
    blkstart)
        # 8 MiB of fresh random data to /dev/vda (O_DIRECT, 64 KiB), in the background
        rm -f /tmp/blk.rc /tmp/blk.err
        dd if=/dev/urandom of=/tmp/blk.pat bs=1M count=8 2>/dev/null || return 1
        md5sum </tmp/blk.pat | cut -d' ' -f1 >/tmp/blk.md5
        # (detached: it must not end as a child of the command loop, below)
        ( (dd if=/tmp/blk.pat of=/dev/vda bs=64k oflag=direct 2>/tmp/blk.err
            echo $? >/tmp/blk.rc) & )
        echo "BLK writing 8 MiB, md5 $(cat /tmp/blk.md5)"
        ;;
    blkcheck)
        # wait for blkstart's writer, read the 8 MiB back and compare
        i=0
        while [ ! -e /tmp/blk.rc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
        [ -e /tmp/blk.rc ] || { echo "BLK writer did not finish"; return 1; }
        [ "$(cat /tmp/blk.rc)" = 0 ] || { echo "BLK write failed: $(cat /tmp/blk.err)"; return 1; }
        got=$(dd if=/dev/vda bs=64k count=128 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
        want=$(cat /tmp/blk.md5)
        echo "BLK wrote $want read $got"
        [ "$got" = "$want" ]
        ;;
    net)
        # DHCP on eth0
        ip link set eth0 up || return 1
        udhcpc -i eth0 -n -q -f -t 5 -T 1 -s /etc/udhcpc.script 2>&1 | grep -E "NET|lease|fail"
        ip -4 addr show eth0 | grep -q "inet "
        ;;
    rng)
        # 64 bytes from /dev/hwrng, which must be virtio_rng
        cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
        n=$(timeout 10 dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)
        echo "RNG current=$cur bytes=$n"
        case "$cur" in virtio_rng*) ;; *) return 1 ;; esac
        [ "$n" -eq 64 ]
        ;;
    tablet)
        # wait up to 10 s for one event of the virtio tablet
        ev=""
        for i in $(ls /sys/class/input | grep '^event'); do
            grep -qi "tablet" /sys/class/input/$i/device/name 2>/dev/null && ev=$i
        done
        [ -n "$ev" ] || { echo "TABLET no virtio tablet"; return 1; }
        n=$(timeout 10 dd if=/dev/input/$ev bs=24 count=1 2>/dev/null | wc -c)
        echo "TABLET $ev $(cat /sys/class/input/$ev/device/name) bytes=$n"
        [ "$n" -ge 24 ]
        ;;
    hvc) shift; echo "$*" >/dev/hvc0 ;;
    blksize) cat /sys/block/vda/size ;;
    sh) shift; sh -c "$*" ;;
    *) echo "unknown command: $1"; return 2 ;;
    esac
}

# The command loop runs beside /init, not in it: busybox's read drops the
# part of a line it has read when a signal interrupts it, such as the
# SIGCHLD of a child that ends, and /init is the parent of every orphan
# (busybox timeout leaves its watcher behind).  So nothing may end as a
# child of the loop while it reads a command.
stty -F /dev/ttyS1 115200 raw -echo 2>/dev/null
(
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
) &
while :; do sleep 3600; done
