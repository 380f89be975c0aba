# Sourced by /init (init.sh) as /etc/desktop.sh: the commands of the
# desktop-VM guest (scripts/guest/run-desktop.py, docs/guest.md "The
# desktop VM").  Each prints lines and returns 0 on success.
#
#   devices          one line per virtio device: driver, status, whether
#                    freeze_mode (45) / SUSPEND (43) were negotiated
#   paths            which path each device took on the last system sleep,
#                    from what the kernel logged since the last "dmesg -c":
#                    kept (stopped in place and resumed), recovered (it lost
#                    its state: reset and re-initialised), reset (today's
#                    path), gone; lines "PATH <dev> <driver> <path>"
#   blkstart N       8 MiB of fresh random data to /dev/vda (O_DIRECT,
#                    64 KiB writes) in the background
#   blkcheck         wait for blkstart's writer, read the 8 MiB back
#                    (O_DIRECT) and compare checksums
#   net              DHCP on eth0 (udhcpc), prints the lease
#   rng              64 bytes from /dev/hwrng, which must be virtio_rng
#   tablet           wait up to 10 s for one event of the virtio tablet
#   hvc TEXT         write TEXT to /dev/hvc0 (the virtio console)
#   blksize          /sys/block/vda/size (512-byte sectors)
# (init.sh's "suspend deep|s2idle" does the system sleep.)

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

desktop_devices() {
    for d in $(ls /sys/bus/virtio/devices); do
        p=/sys/bus/virtio/devices/$d
        drv=$(basename "$(readlink "$p/driver" 2>/dev/null)" 2>/dev/null)
        f=$(cat "$p/features")
        echo "DEV $d driver=${drv:-none} device=$(cat "$p/device") status=$(cat "$p/status") freeze_mode=$(echo "$f" | cut -c46) suspend=$(echo "$f" | cut -c44)"
    done
}

desktop_paths() {
    log=$(dmesg)
    for d in $(ls /sys/bus/virtio/devices); do
        drv=$(basename "$(readlink /sys/bus/virtio/devices/$d/driver 2>/dev/null)" 2>/dev/null)
        if echo "$log" | grep -q " $d: device is gone"; then
            path=gone
        elif echo "$log" | grep -q " $d: device lost its state"; then
            path=recovered
        elif echo "$log" | grep -qE " $d: device (refused to stop|did not stop)"; then
            path=reset
        elif echo "$log" | grep -q " $d: resumed in place"; then
            path=kept
        else
            path=reset
        fi
        echo "PATH $d ${drv:-none} $path"
    done
}

desktop_blkstart() {
    rm -f /tmp/blk.rc /tmp/blk.err
    dd if=/dev/urandom of=/tmp/blk.pat bs=1M count=8 2>/dev/null || return 1
    md5sum </tmp/blk.pat | cut -d' ' -f1 >/tmp/blk.md5
    (dd if=/tmp/blk.pat of=/dev/vda bs=64k oflag=direct 2>/tmp/blk.err
        echo $? >/tmp/blk.rc) &
    echo "BLK writing 8 MiB, md5 $(cat /tmp/blk.md5)"
}

desktop_blkcheck() {
    i=0
    while [ ! -e /tmp/blk.rc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e /tmp/blk.rc ] || { echo "BLK writer did not finish"; return 1; }
    [ "$(cat /tmp/blk.rc)" = 0 ] || { echo "BLK write failed: $(cat /tmp/blk.err)"; return 1; }
    got=$(dd if=/dev/vda bs=64k count=128 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
    want=$(cat /tmp/blk.md5)
    echo "BLK wrote $want read $got"
    [ "$got" = "$want" ]
}

desktop_net() {
    ip link set eth0 up || return 1
    udhcpc -i eth0 -n -q -f -t 5 -T 1 -s /etc/udhcpc.script 2>&1 | grep -E "NET|lease|fail"
    ip -4 addr show eth0 | grep -q "inet "
}

desktop_rng() {
    cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
    n=$(timeout 10 dd if=/dev/hwrng bs=64 count=1 2>/dev/null | wc -c)
    echo "RNG current=$cur bytes=$n"
    case "$cur" in virtio_rng*) ;; *) return 1 ;; esac
    [ "$n" -eq 64 ]
}

desktop_tablet() {
    ev=""
    for i in $(ls /sys/class/input | grep '^event'); do
        grep -qi "tablet" /sys/class/input/$i/device/name 2>/dev/null && ev=$i
    done
    [ -n "$ev" ] || { echo "TABLET no virtio tablet"; return 1; }
    n=$(timeout 10 dd if=/dev/input/$ev bs=24 count=1 2>/dev/null | wc -c)
    echo "TABLET $ev $(cat /sys/class/input/$ev/device/name) bytes=$n"
    [ "$n" -ge 24 ]
}

desktop_run() {
    case "$1" in
    devices) desktop_devices ;;
    paths) desktop_paths ;;
    blkstart) desktop_blkstart ;;
    blkcheck) desktop_blkcheck ;;
    net) desktop_net ;;
    rng) desktop_rng ;;
    tablet) desktop_tablet ;;
    hvc) shift; echo "$*" >/dev/hvc0 ;;
    blksize) cat /sys/block/vda/size ;;
    *) echo "unknown command: $1"; return 2 ;;
    esac
}
