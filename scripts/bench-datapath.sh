#!/bin/bash
# make bench-datapath (mk/check.mk): callgrind instructions per request of the
# device handlers only, QEMU as released (UNPATCHED) vs freeze_mode off and on.
#   bench-datapath.sh BUILD UNPATCHED [REQUESTS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "$1")
obj=$(realpath "$2")
n=${3:-1000}
out=$(dirname "$obj")

echo "bench-datapath: building unpatched QEMU 10.0.2 in build/bench/obj"
ninja -C "$obj" qemu-system-x86_64 > "$out/build.log" 2>&1
"$here/link-firmware.sh" "$obj" > /dev/null

# The handlers of each device, and everything they call
declare -A toggles=([blk]="virtio_blk_handle_output virtio_blk_rw_complete"
                    [net]="virtio_net_handle_tx_bh virtio_net_tx_bh virtio_net_tx_timer")
count() {   # binary device on|"" -> instructions
    local bin=$1 dev=$2 on=$3 cg opts=""
    cg=$out/callgrind.$dev.$on.$(basename "$(dirname "$bin")").out
    for t in ${toggles[$dev]}; do
        opts="$opts --toggle-collect=$t"
    done
    rm -f "$cg"
    (cd "$build" &&
     env QTEST_QEMU_BINARY="valgrind --tool=callgrind --collect-atstart=no \
$opts --callgrind-out-file=$cg $bin" QTEST_FREEZE_BENCH_REQUESTS="$n" \
     ${on:+QTEST_FREEZE_BENCH_ON=1} \
     tests/qtest/virtio-freeze-test -m perf --tap \
        -p "/x86_64/virtio-freeze/bench/datapath/$dev") > "$cg.log" 2>&1 ||
        { echo "bench-datapath: the $dev run failed, see $cg.log" >&2; exit 1; }
    sed -n 's/^summary: *//p' "$cg"
}

printf '%-6s %-10s %16s %14s %10s\n' device build instructions per-request vs-unpatched
for dev in blk net; do
    base=""
    for cfg in unpatched off on; do
        bin=$build/qemu-system-x86_64 on=
        case $cfg in unpatched) bin=$obj/qemu-system-x86_64 ;; on) on=1 ;; esac
        total=$(count "$bin" "$dev" "$on")
        base=${base:-$total}
        printf '%-6s %-10s %16s %14s %9s%%\n' "$dev" "$cfg" "$total" "$(( total / n ))" \
            "$(awk -v a="$total" -v b="$base" 'BEGIN { printf "%+.2f", (a - b) * 100 / b }')"
    done
done
echo "bench-datapath: $n requests per run; callgrind, only the device handlers counted"
