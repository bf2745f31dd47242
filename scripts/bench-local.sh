#!/usr/bin/env bash
# Local servants benchmark: in-process id generation, the sharded LRU vs a
# single-lock LRU, and id_next / lc_get / lock through faed (noop alongside
# as the reference), side by side in one run. Writes the section between the
# bench:local markers of docs/BENCHMARKS.md.
#   BENCH_D (5s) per faed-bench run, BENCH_C (16) workers, BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/benchlib.sh
D=${BENCH_D:-5s} C=${BENCH_C:-16} ROUNDS=${BENCH_ROUNDS:-3}
workdir var/bench-local
build ./cmd/faed ./cmd/faed-bench

echo "in-process benchmarks" >&2
go test -run '^$' -bench 'IDNext' -count "$ROUNDS" ./idgen >"$W/ids.txt"
go test -run '^$' -bench 'Cache' -benchmem -count "$ROUNDS" ./cache >"$W/cache.txt"

printf '[server]\nlisten = "127.0.0.1:19011"\n[admin]\nlisten = ""\n[log]\nlevel = "warn"\n' >"$W/faed.toml"
start faed "$W/faed.log" "$B/faed" -conf "$W/faed.toml"
wait_ready faed listening 127.0.0.1:19011

for round in $(seq "$ROUNDS"); do
	for mode in persistent short; do
		for call in noop id_next lc_get lock; do
			run faed-tcp "$call" "$mode" "$C" -addr 127.0.0.1:19011
		done
	done
done

report python3 - "$W" "$D" "$C" "$ROUNDS" <<'PY'
import re, sys
from benchlib import errors, load_runs, machine, median, median_run, rate_cells, section, table, times
w, d, c, rounds = sys.argv[1:]

def bench_lines(path):
    out = {}
    for line in open(path):
        m = re.match(r"Benchmark(\S+?)-\d+\s+\d+\s+([\d.]+) ns/op(.*)", line)
        if m:
            out.setdefault(m.group(1), []).append((float(m.group(2)), m.group(3)))
    return out

ids = bench_lines(f"{w}/ids.txt")
cache = bench_lines(f"{w}/cache.txt")
if not ids or not cache:
    sys.exit(f"bench-local: no go test -bench results in {w}/ids.txt or {w}/cache.txt")
ns = lambda runs: median([r[0] for r in runs])
rows = []
for name, runs in sorted(ids.items()):
    rate = median([float(re.search(r"([\d.]+) ids/s", r[1]).group(1)) for r in runs])
    rows.append([name, f"{ns(runs):.0f}", f"{rate/1e6:.2f}M"])
ids_table = table(["benchmark", "ns/id", "ids/s"], rows)

rows = []
for op in ("get", "mixed"):
    for g in ("1g", "2g", "8g"):
        s, one = cache.get(f"Cache/{op}/sharded/{g}"), cache.get(f"Cache/{op}/single/{g}")
        if s and one:
            rows.append([op, g[:-1], f"{ns(s):.0f}", f"{ns(one):.0f}", times(ns(one), ns(s))])
cache_table = table(["op", "goroutines", "sharded ns/op", "single-lock ns/op", "sharded speed-up"], rows)

runs = load_runs(f"{w}/results.jsonl", "mode", "call")
rows = []
for (mode, call), rs in runs.items():
    m, noop = median_run(rs), median_run(runs[(mode, "noop")])
    rows.append([call, mode, *rate_cells(m), times(m["calls_per_s"], noop["calls_per_s"]), errors(rs)])
rpc_table = table(["call", "mode", "calls/s (median)", "p50 µs", "p99 µs", "vs noop", "errors"], rows)

print(section("local", f"""## Local servants: ids, local cache, locks

Command: `make bench-local` (`scripts/bench-local.sh`, BENCH_D={d} BENCH_C={c} BENCH_ROUNDS={rounds}).
Machine: {machine()}.

In-process id generation (`go test -bench IDNext ./idgen`, median of {rounds}).
The layout's limit is 4096 ids per millisecond, 4.096M/s:

{ids_table}

Sharded LRU (64 shards) vs golang-lru's `lru.Cache` (one LRU behind one
lock), 100k keys of 100 bytes read in a scrambled order; `mixed` is 10%
sets. ns/op is wall time divided by all operations of all goroutines
(`go test -bench Cache ./cache`, median of {rounds}):

{cache_table}

Through faed over TCP (`faed-bench`, {c} workers, median of {rounds}
interleaved runs of {d}; `lock` alternates lock and unlock of one key per
worker; `lc_get` reads keys set beforehand; `vs noop` compares with noop in
the same round):

{rpc_table}"""))
PY
publish local
