#!/bin/bash
# Run qtests through meson's test runner and print one summary line
# counting the test cases (TAP lines) of all of them:
#   qtest: N passed, N failed, N skipped
#
#   run-qtests.sh BUILD_DIR TEST...
set -uo pipefail
build=$1
shift

here=$(cd "$(dirname "$0")" && pwd)
cd "$build" || exit 1

"$here/xvfb-run.sh" meson-logs/freeze-qtests-xvfb pyvenv/bin/meson test \
    --no-rebuild --print-errorlogs --num-processes 1 --logbase freeze-qtests "$@"
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
