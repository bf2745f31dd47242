#!/usr/bin/env bash
# A keyed call served by its owner vs forwarded from a non-owner: two faed
# nodes (A, B) on one ZooKeeper (started by backends.sh), load on A only.
# "owner" runs use keys A owns; "forwarded" runs use keys B owns, so A
# forwards each call to B over its pooled peer connections. lock (lock +
# unlock) and lc_get (cluster cache mode) are measured, noop on A gives
# the floor. Writes the bench:cluster section of docs/BENCHMARKS.md.
#   BENCH_D (5s) per run, BENCH_ROUNDS (3); workers 1 (latency) and 16.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/benchlib.sh
D=${BENCH_D:-5s} ROUNDS=${BENCH_ROUNDS:-3}
A=127.0.0.1:19041 BN=127.0.0.1:19042
declare -A admin=([A]=127.0.0.1:19043 [BN]=127.0.0.1:19044)
workdir var/bench-cluster
build ./cmd/faed ./cmd/faed-bench
backends_up zk=19181

# sees ADMIN MEMBER...: the node behind ADMIN has every MEMBER in its view
# of the cluster (/stats), so it routes keys to them.
sees() {
	curl -fsS -m 1 "http://$1/stats" |
		python3 -c 'import json, sys; sys.exit(not set(sys.argv[1:]) <= set(json.load(sys.stdin)["cluster"]["node"]["members"]))' "${@:2}"
}
for n in A BN; do
	printf '[server]\nlisten = "%s"\n[admin]\nlisten = "%s"\n[log]\nlevel = "warn"\n[cluster]\nzk_servers = ["127.0.0.1:19181"]\ncache_mode = true\n' \
		"${!n}" "${admin[$n]}" >"$W/$n.toml"
	start "$n" "$W/$n.log" "$B/faed" -conf "$W/$n.toml"
done
for n in A BN; do
	wait_ready "$n" listening "${!n}"
	wait_ready "$n" sees "${admin[$n]}" "$A" "$BN" # both registered and watching each other
done

for round in $(seq "$ROUNDS"); do
	for c in 1 16; do
		run "floor-c$c" noop persistent "$c" -addr "$A"
		for call in lock lc_get; do
			run "owner-c$c" "$call" persistent "$c" -addr "$A" -owner "$A" -members "$A,$BN"
			run "forwarded-c$c" "$call" persistent "$c" -addr "$A" -owner "$BN" -members "$A,$BN"
		done
	done
done

report python3 - "$W/results.jsonl" "$D" "$ROUNDS" <<'PY'
import sys
from benchlib import cores, errors, load_runs, machine, median_run, rate_cells, section, table, times
path, d, rounds = sys.argv[1:]
runs = load_runs(path, "call", "label")
rows, ratios = [], []
for c in (1, 16):
    floor = runs[("noop", f"floor-c{c}")]
    rows.append([c, "noop on A (floor)", *rate_cells(median_run(floor)), errors(floor)])
    for call in ("lock", "lc_get"):
        med = {}
        for label in ("owner", "forwarded"):
            rs = runs[(call, f"{label}-c{c}")]
            med[label] = median_run(rs)
            rows.append([c, f"{call}, {label}", *rate_cells(med[label]), errors(rs)])
        o, f = med["owner"], med["forwarded"]
        ratios.append([c, call, times(f["p50_us"], o["p50_us"]), times(f["calls_per_s"], o["calls_per_s"])])
print(section("cluster", f"""## Cluster: a keyed call served by its owner vs forwarded from a non-owner

Command: `make bench-cluster` (`scripts/bench-cluster.sh`, BENCH_D={d} BENCH_ROUNDS={rounds}).
Machine: {machine()}.

Two faed nodes, A and B, registered in one ZooKeeper 3.8 (started by
`scripts/backends.sh`), cluster cache mode on. All load goes to A, one
persistent Thrift connection per worker. `owner` runs use only keys A owns
(`faed-bench -owner A -members A,B`), so A serves them itself; `forwarded`
runs use only keys B owns, so A forwards every call to B (sticky, over
its pooled framed connections) and relays the answer. `lock` is a lock
then an unlock of the worker's key (two calls, each counted); `lc_get`
reads 100-byte values a setup pass stored. Everything shares the same
{cores()} cores: the load generator and both nodes. Each row is the median
of {rounds} interleaved runs of {d}.

{table(["workers", "call", "calls/s", "p50 µs", "p99 µs", "errors"], rows)}

{table(["workers", "call", "p50 forwarded / owner", "calls/s forwarded / owner"], ratios)}"""))
PY
publish cluster
