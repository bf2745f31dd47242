#!/usr/bin/env python3
"""The numbers and markdown the bench scripts share: the reports inside
scripts/bench*.sh (run by benchlib.sh's `report`, which puts scripts/ on
PYTHONPATH) and scripts/bench-php.py.

One median for everything measured more than once (runs, rounds, samples),
faed-bench -json runs grouped by cell, table cells and tables, a section's
markers, the machine line and a process's CPU time from /proc.

Usage: benchlib.py machine   prints the machine line, for a section written
in shell (bench.sh).
"""
import json
import os
import sys


def median(xs, key=None):
    """The middle of xs by key; of an even count, the upper of the two middle
    ones. The same choice as faed-bench -report (cmd/faed-bench/report.go),
    so that a run standing for its repeats is always one real run, with its
    own latencies and errors, never the average of two."""
    s = sorted(xs, key=key)
    if not s:
        raise ValueError("median of no values")
    return s[len(s) // 2]


def median_run(runs):
    """The median of faed-bench -json runs by calls/s."""
    return median(runs, key=lambda r: r["calls_per_s"])


def load_runs(path, *fields):
    """faed-bench -json lines grouped by the values of fields, in the order
    each group first appears."""
    runs = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            runs.setdefault(tuple(r[k] for k in fields), []).append(r)
    return runs


def errors(runs):
    """Errors summed over runs."""
    return sum(r["errors"] for r in runs)


def rate_cells(r):
    """A faed-bench run's calls/s, p50 µs and p99 µs as table cells."""
    return [f"{r['calls_per_s']:.0f}", f"{r['p50_us']:.0f}", f"{r['p99_us']:.0f}"]


def fmt(v, digits=0):
    """v with digits decimals; "–" for a value a run did not yield."""
    return "–" if v is None else f"{v:.{digits}f}"


def times(a, b):
    """a / b as "1.23×"; a run that completed nothing has no ratio."""
    return f"{a / b:.2f}×" if a is not None and b else "–"


def table(head, rows):
    """A markdown table: head the column names, rows lists of cells."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def section(name, body):
    """body between the markers scripts/docsection.py replaces."""
    return f"<!-- bench:{name}:start -->\n{body}\n<!-- bench:{name}:end -->"


def cores():
    """The cores this process may run on, as nproc counts them."""
    return len(os.sched_getaffinity(0))


def machine():
    """ "N cores, CPU model", as a section's Machine line says it."""
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{cores()} cores, {model}"


TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """The fields of /proc/PID/stat after the command name (state first);
    None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_s(pid, workers=False):
    """CPU seconds (user + system) pid has used, with those of its children
    when workers (a master and its workers); 0 for a process that is gone."""
    pids = [pid]
    if workers:
        for d in os.listdir("/proc"):
            st = d.isdigit() and _stat(d)
            if st and int(st[1]) == pid:  # ppid
                pids.append(int(d))
    total = 0
    for p in pids:
        st = _stat(p)
        if st:
            total += int(st[11]) + int(st[12])  # utime, stime
    return total / TICK


if __name__ == "__main__":
    if sys.argv[1:] != ["machine"]:
        sys.exit(__doc__)
    print(machine())
