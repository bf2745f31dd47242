#!/usr/bin/env bash
# Local servants benchmark: in-process id generation, the sharded LRU vs a
# single-lock LRU, and id_next / lc_get / lock through faed (noop alongside
# as the reference), side by side in one run. Writes the section between the
# bench:local markers of docs/BENCHMARKS.md.
#   BENCH_D (5s) per faed-bench run, BENCH_C (16) workers, BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_D:-5s} C=${BENCH_C:-16} ROUNDS=${BENCH_ROUNDS:-3}
W=var/bench-local
rm -rf "$W" && mkdir -p "$W"
go build -o "$W/" ./cmd/faed ./cmd/faed-bench

echo "in-process benchmarks" >&2
go test -run '^$' -bench 'IDNext' -count "$ROUNDS" ./servant >"$W/ids.txt"
go test -run '^$' -bench 'Cache' -benchmem -count "$ROUNDS" ./cache >"$W/cache.txt"

pid=
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; wait 2>/dev/null || true' EXIT
printf '[server]\nlisten = "127.0.0.1:19011"\n[admin]\nlisten = ""\n[log]\nlevel = "warn"\n' >"$W/faed.toml"
"$W/faed" -conf "$W/faed.toml" 2>"$W/faed.log" &
pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/19011) 2>/dev/null && break; sleep 0.05; done

for round in $(seq "$ROUNDS"); do
	for mode in persistent short; do
		for call in noop id_next lc_get lock; do
			echo "round $round: $call $mode" >&2
			"$W/faed-bench" -addr 127.0.0.1:19011 -label faed-tcp -mode "$mode" -call "$call" \
				-c "$C" -d "$D" -warmup 1s -json 2>/dev/null >>"$W/results.jsonl"
		done
	done
done

python3 - "$W" "$D" "$C" "$ROUNDS" <<'PY' | scripts/docsection.py local
import json, re, statistics, subprocess, sys
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
med = lambda xs: statistics.median(x[0] for x in xs)
rows = []
for name, runs in sorted(ids.items()):
    rate = statistics.median(float(re.search(r"([\d.]+) ids/s", r[1]).group(1)) for r in runs)
    rows.append(f"| {name} | {med(runs):.0f} | {rate/1e6:.2f}M |")
ids_table = "| benchmark | ns/id | ids/s |\n|---|---|---|\n" + "\n".join(rows)

rows = []
for op in ("get", "mixed"):
    for g in ("1g", "2g", "8g"):
        s, one = cache.get(f"Cache/{op}/sharded/{g}"), cache.get(f"Cache/{op}/single/{g}")
        if s and one:
            rows.append(f"| {op} | {g[:-1]} | {med(s):.0f} | {med(one):.0f} | {med(one)/med(s):.2f}× |")
cache_table = ("| op | goroutines | sharded ns/op | single-lock ns/op | sharded speed-up |\n"
               "|---|---|---|---|---|\n" + "\n".join(rows))

runs = {}
for line in open(f"{w}/results.jsonl"):
    r = json.loads(line)
    runs.setdefault((r["mode"], r["call"]), []).append(r)
rows = []
for (mode, call), rs in runs.items():
    m = sorted(rs, key=lambda r: r["calls_per_s"])[len(rs) // 2]
    noop = sorted(runs[(mode, "noop")], key=lambda r: r["calls_per_s"])[len(rs) // 2]
    errs = sum(r["errors"] for r in rs)
    rows.append(f"| {call} | {mode} | {m['calls_per_s']:.0f} | {m['p50_us']:.0f} | {m['p99_us']:.0f} | "
                f"{m['calls_per_s']/noop['calls_per_s']:.2f}× | {errs} |")
rpc_table = ("| call | mode | calls/s (median) | p50 µs | p99 µs | vs noop | errors |\n"
             "|---|---|---|---|---|---|---|\n" + "\n".join(rows))

cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print(f"""<!-- bench:local:start -->
## Local servants: ids, local cache, locks

Command: `make bench-local` (`scripts/bench-local.sh`, BENCH_D={d} BENCH_C={c} BENCH_ROUNDS={rounds}).
Machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, {cpu}.

In-process id generation (`go test -bench IDNext ./servant`, median of {rounds}).
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

{rpc_table}
<!-- bench:local:end -->""")
PY
