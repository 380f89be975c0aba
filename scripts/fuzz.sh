#!/bin/bash
# One config of make fuzz (mk/fuzz.mk): generic-fuzz-CONFIG for SECONDS, in
# OUTDIR/CONFIG/ (corpus/, seeds/, fuzz.log, findings).  Prints executions,
# coverage and the virtio-freeze.c functions reached; fails on a finding or on
# a run that never reached the freeze_mode register.
#   fuzz.sh FUZZ_BUILD OUTDIR SECONDS CONFIG
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$(realpath "$1")/qemu-fuzz-x86_64
cfg=$4
dir=$(realpath -m "$2")/$cfg
per=$3
log=$dir/fuzz.log

[ -x "$fuzzer" ] || { echo "fuzz: $fuzzer not built" >&2; exit 1; }
ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
# QEMU leaks at exit by design; a leak per input shows as libFuzzer's rss limit
export ASAN_SYMBOLIZER_PATH ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
mkdir -p "$dir/corpus"
rm -rf "$dir/seeds" "$log"
/usr/bin/python3 "$here/fuzz-seeds.py" "$dir/seeds" "$cfg" ||
    { echo "fuzz: $cfg: no seeds" >&2; exit 1; }
# -timeout: an input that runs for 30 s is a hang of the device model
(cd "$dir" && "$fuzzer" --fuzz-target="generic-fuzz-$cfg" \
    -max_total_time="$per" -timeout=30 -rss_limit_mb=4096 \
    -max_len=4096 -print_final_stats=1 -print_coverage=1 \
    -artifact_prefix="$dir/" corpus seeds) > "$log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 |
      sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, corpus \3/p')
echo "fuzz: $cfg: ${execs:-?} executions in ${per} s, ${cov:-no coverage line}, exit $rc"
# The functions of virtio-freeze.c: reached or not, edges covered/total
grep -E '^(UN)?COVERED_FUNC: hits: ' "$log" |
    awk '$7 ~ /\/hw\/virtio\/virtio-freeze\.c/ { print $6, $1, $5 }' | LC_ALL=C sort -u -k1,1 |
    awk '{ split($3, e, "/"); n++; r += $2 == "COVERED_FUNC:"; c += e[1]; t += e[2]
           list = list (n > 1 ? ", " : "") $1 " " $3 }
         END { if (n) printf "fuzz:   virtio-freeze.c: %d of %d functions reached, edges %d/%d\nfuzz:   %s\n", r, n, c, t, list }'
fail=0
for a in "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* "$dir"/leak-*; do
    [ -e "$a" ] || continue
    echo "fuzz:   FOUND: $a"
    echo "fuzz:   replay: $fuzzer --fuzz-target=generic-fuzz-$cfg $a"
    fail=1
done
for a in "$dir"/slow-unit-*; do
    [ ! -e "$a" ] || echo "fuzz:   slow input: $a"
done
if [ "$rc" != 0 ]; then
    echo "fuzz:   libFuzzer exited $rc; the end of $log:"
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$log" | head -20 | sed 's/^/fuzz:     /'
    fail=1
fi
if ! grep -q '^COVERED_FUNC: .* virtio_freeze_mode_write ' "$log"; then
    echo "fuzz:   the run never reached virtio_freeze_mode_write()"
    fail=1
fi
exit $fail
