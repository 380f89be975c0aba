#!/bin/bash
# Run qtests through meson's test runner, then count the test cases (TAP lines)
# of all: "qtest: N passed, N failed, N skipped".
#   run-qtests.sh BUILD_DIR TEST...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$1" || exit 1
shift
"$here/xvfb-run.sh" meson-logs/freeze-qtests-xvfb pyvenv/bin/meson test \
    --no-rebuild --print-errorlogs --num-processes 1 --logbase freeze-qtests "$@"
rc=$?
/usr/bin/python3 - meson-logs/freeze-qtests.json <<'PY'
import json, re, sys
n = {"ok": 0, "not ok": 0, "skip": 0}
for line in open(sys.argv[1]):
    t = json.loads(line)
    failed = n["not ok"]
    for m in re.finditer(r"^(not ok|ok)\b(.*)", t.get("stdout", ""), re.M):
        n["skip" if re.search(r"#\s*SKIP", m.group(2), re.I) else m.group(1)] += 1
    # A binary that crashed or timed out did not report the case it died in
    if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and n["not ok"] == failed:
        n["not ok"] += 1
    print("%-40s %s" % (t["name"], t["result"]))
print("qtest: %d passed, %d failed, %d skipped" % (n["ok"], n["not ok"], n["skip"]))
PY
exit $rc
