# Sourced by /init (init.sh) as /etc/desktop.sh: the commands of the desktop-VM
# guest (run-desktop.py; docs/guest.md, "The desktop VM"), each printing lines
# and returning 0 on success.  (init.sh's "suspend deep|s2idle" sleeps.)

desktop_setup() {
    # the core's "stopped in place"/"resumed in place" lines are dev_dbg
    echo 'module virtio +p' >/sys/kernel/debug/dynamic_debug/control 2>/dev/null
    mkdir -p /etc
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
}

desktop_driver() {
    basename "$(readlink "/sys/bus/virtio/devices/$1/driver" 2>/dev/null)" 2>/dev/null
}

desktop_run() {
    case "$1" in
    devices)
        # one line per device: whether freeze_mode (45) / SUSPEND (43) were negotiated
        for d in $(ls /sys/bus/virtio/devices); do
            p=/sys/bus/virtio/devices/$d
            drv=$(desktop_driver "$d")
            f=$(cat "$p/features")
            echo "DEV $d driver=${drv:-none} device=$(cat "$p/device") status=$(cat "$p/status") freeze_mode=$(echo "$f" | cut -c46) suspend=$(echo "$f" | cut -c44)"
        done
        ;;
    paths)
        # the path of each device on the last sleep (kernel log since "dmesg -c"): gone,
        # recovered (lost its state: reset, re-initialised), reset (today's), kept
        log=$(dmesg)
        for d in $(ls /sys/bus/virtio/devices); do
            path=reset
            for p in "gone:device is gone" "recovered:device lost its state" \
                "reset:device (refused to stop|did not stop)" "kept:resumed in place"; do
                if echo "$log" | grep -qE " $d: ${p#*:}"; then
                    path=${p%%:*}
                    break
                fi
            done
            drv=$(desktop_driver "$d")
            echo "PATH $d ${drv:-none} $path"
        done
        ;;
    blkstart)
        # 8 MiB of fresh random data to /dev/vda (O_DIRECT, 64 KiB), in the background
        rm -f /tmp/blk.rc /tmp/blk.err
        dd if=/dev/urandom of=/tmp/blk.pat bs=1M count=8 2>/dev/null || return 1
        md5sum </tmp/blk.pat | cut -d' ' -f1 >/tmp/blk.md5
        (dd if=/tmp/blk.pat of=/dev/vda bs=64k oflag=direct 2>/tmp/blk.err
            echo $? >/tmp/blk.rc) &
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
    *) echo "unknown command: $1"; return 2 ;;
    esac
}
