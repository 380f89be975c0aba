#!/bin/bash
# One config of `make fuzz` (mk/fuzz.mk runs them, FUZZ_JOBS at a time):
# QEMU's generic-fuzz target (libFuzzer, ASan, UBSan) on
# generic-fuzz-CONFIG for SECONDS of wall time, and what it did.
#
#   fuzz.sh FUZZ_BUILD OUTDIR SECONDS CONFIG
#
# OUTDIR/CONFIG/ keeps
#   corpus/      the inputs libFuzzer found interesting (kept across runs:
#                a second run goes on from there)
#   seeds/       scripts/fuzz-seeds.py's starting inputs
#   fuzz.log     libFuzzer's output
#   crash-*, timeout-*, oom-*, leak-*   what it found, if anything
# and prints the executions, libFuzzer's coverage (edges, features), and
# the functions of hw/virtio/virtio-freeze.c the run reached with their
# edges covered.  Exits non-zero if the run found a crash, a hang, a
# sanitizer report or did not reach the freeze_mode register at all.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$(realpath "$1")/qemu-fuzz-x86_64
cfg=$4
dir=$(realpath -m "$2")/$cfg
per=$3
log=$dir/fuzz.log

[ -x "$fuzzer" ] || { echo "fuzz: $fuzzer not built" >&2; exit 1; }
symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
export ASAN_SYMBOLIZER_PATH=$symbolizer
# QEMU leaks at exit by design; a leak that grows per input shows up as
# libFuzzer's rss limit instead.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1

mkdir -p "$dir/corpus"
rm -rf "$dir/seeds" "$log"
/usr/bin/python3 "$here/fuzz-seeds.py" "$dir/seeds" "$cfg" ||
    { echo "fuzz: $cfg: no seeds" >&2; exit 1; }
# -timeout: a single input that runs for 30 s is a hang of the device
# model.  -print_coverage: the functions reached, at exit.
(cd "$dir" && "$fuzzer" --fuzz-target="generic-fuzz-$cfg" \
    -max_total_time="$per" -timeout=30 -rss_limit_mb=4096 \
    -max_len=4096 -print_final_stats=1 -print_coverage=1 \
    -artifact_prefix="$dir/" corpus seeds) > "$log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, corpus \3/p' \
      <<<"$done_line")
echo "fuzz: $cfg: ${execs:-?} executions in ${per} s, ${cov:-no coverage line}, exit $rc"
# The functions of virtio-freeze.c: reached or not, edges covered/total
grep -E '^(UN)?COVERED_FUNC: hits: ' "$log" |
    awk '$7 ~ /\/hw\/virtio\/virtio-freeze\.c/ { print $6, $1, $5 }' | LC_ALL=C sort -u -k1,1 |
    awk '{ split($3, e, "/"); n++; r += $2 == "COVERED_FUNC:"; c += e[1]; t += e[2]
           list = list (n > 1 ? ", " : "") $1 " " $3 }
         END { if (n) printf "fuzz:   virtio-freeze.c: %d of %d functions reached, edges %d/%d\nfuzz:   %s\n", r, n, c, t, list }'
fail=0
for a in "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* "$dir"/leak-* \
         "$dir"/slow-unit-*; do
    [ -e "$a" ] || continue
    case $a in *slow-unit-*) echo "fuzz:   slow input: $a"; continue ;; esac
    echo "fuzz:   FOUND: $a"
    echo "fuzz:   replay: $fuzzer --fuzz-target=generic-fuzz-$cfg $a"
    fail=1
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
