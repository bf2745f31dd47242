#!/usr/bin/env python3
"""Writes the measured table of docs/RELIABILITY.md from the fault suite's
results (one JSON line per scenario, written by the TestFault* tests of
cmd/faed when FAED_FAULTS_OUT names a file; `make test-faults` runs them).

Usage: faults-report.py [RESULTS]   (default var/faults/results.jsonl)

The table goes between <!-- faults:table:start --> and
<!-- faults:table:end --> of docs/RELIABILITY.md; the rest of the file is
left as it is. No results (a run that failed before any scenario) leave
the file as it was, and exit 1.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from benchlib import cores, fmt, table  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
DOC = os.path.join(ROOT, "docs", "RELIABILITY.md")
START, END = "<!-- faults:table:start -->", "<!-- faults:table:end -->"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "var", "faults", "results.jsonl")
    with open(path) as f:
        results = [json.loads(line) for line in f if line.strip()]
    if not results:
        sys.exit("faults-report.py: no results in %s; %s left as it was" % (path, DOC))
    rows = []
    for r in results:
        # the errors that are not the breaker's fast "circuit open" say
        # what the fault looked like; the breaker's are summed
        errs = r.get("errors", {})
        skipped = sum(n for e, n in errs.items() if "circuit open" in e)
        other = sorted(((e, n) for e, n in errs.items() if "circuit open" not in e), key=lambda kv: -kv[1])
        top = "; ".join("%d× %s" % (n, e.replace("Internal error processing ", "").replace("|", "\\|")) for e, n in other[:3])
        if skipped:
            top = ("%d× circuit open" % skipped) + ("; " + top if top else "")
        rows.append([
            r["scenario"],
            "`%s`" % r["test"],
            f"{r['fault_ms']}",
            f"{r['failed']} / {r['calls']}",
            f"{r['timeouts']}",
            fmt(r.get("p50_ms_to_error"), 1),
            fmt(r.get("max_ms_to_error"), 1),
            f"{r['recovery_ms']}",
            f"{r['noop_failed']} / {r['noop_calls']}",
            "; ".join(x for x in (r.get("notes", ""), top) if x),
        ])
    head = ["Scenario", "Test", "Fault ms", "Failed / calls", "Timed out / refused",
            "p50 ms to error", "Max ms to error", "Recovery ms", "noop failed / calls", "Notes, commonest errors"]
    section = "\n".join([
        START,
        "Measured by `make test-faults` on %d cores; %d scenarios, every one passed "
        "(a test that fails writes no row)." % (cores(), len(rows)),
        "",
        table(head, rows),
        END,
    ])
    doc = open(DOC).read() if os.path.exists(DOC) else "# Reliability\n"
    pat = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if pat.search(doc):
        doc = pat.sub(lambda _: section, doc)
    else:
        doc = doc.rstrip("\n") + "\n\n" + section + "\n"
    with open(DOC, "w") as f:
        f.write(doc)
    print("wrote %s (%d scenarios)" % (os.path.normpath(DOC), len(rows)), file=sys.stderr)


main()
