#!/usr/bin/env bash
# Redis and memcache through faed vs the same GETs sent directly with
# go-redis and gomemcache from the same load generator, side by side and
# interleaved. One redis and one memcached (started by backends.sh), faed
# pooled on them. Writes the bench:backends section of docs/BENCHMARKS.md.
#   BENCH_D (5s) per run, BENCH_ROUNDS (3); workers 1 (latency) and 64
#   (throughput).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/benchlib.sh
D=${BENCH_D:-5s} ROUNDS=${BENCH_ROUNDS:-3}
workdir var/bench-backends
build ./cmd/faed ./cmd/faed-bench
backends_up redis=19379 memcached=19311

cat >"$W/faed.toml" <<TOML
[server]
listen = "127.0.0.1:19021"
[admin]
listen = ""
[log]
level = "warn"
[redis.default]
servers = ["127.0.0.1:19379"]
pool_size = 128
[memcache.default]
servers = ["127.0.0.1:19311"]
max_idle_conns = 128
TOML
start faed "$W/faed.log" "$B/faed" -conf "$W/faed.toml"
wait_ready faed listening 127.0.0.1:19021

for round in $(seq "$ROUNDS"); do
	for c in 1 64; do
		run "faed-c$c" rd_get persistent "$c" -addr 127.0.0.1:19021
		run "direct-c$c" rd_get persistent "$c" -addr 127.0.0.1:19379 -direct redis
		run "faed-c$c" mc_get persistent "$c" -addr 127.0.0.1:19021
		run "direct-c$c" mc_get persistent "$c" -addr 127.0.0.1:19311 -direct memcache
	done
done

report python3 - "$W/results.jsonl" "$D" "$ROUNDS" <<'PY'
import sys
from benchlib import errors, load_runs, machine, median_run, rate_cells, section, table, times
path, d, rounds = sys.argv[1:]
runs = load_runs(path, "call", "label")
rows, ratios = [], []
for call in ("rd_get", "mc_get"):
    for c in (1, 64):
        faed, direct = runs[(call, f"faed-c{c}")], runs[(call, f"direct-c{c}")]
        f, x = median_run(faed), median_run(direct)
        for label, r in (("through faed", f), ("direct", x)):
            rows.append([call, c, label, *rate_cells(r)])
        ratios.append([call, c, times(f["p50_us"], x["p50_us"]), times(f["calls_per_s"], x["calls_per_s"]),
                       errors(faed + direct)])
print(section("backends", f"""## Redis and memcache: through faed vs direct

Command: `make bench-backends` (`scripts/bench-backends.sh`, BENCH_D={d} BENCH_ROUNDS={rounds}).
Machine: {machine()}.

One redis-server and one memcached on loopback, started by
`scripts/backends.sh`; faed has a pool `default` on each. `through faed`
is `faed-bench -call rd_get` (rd_call GET) or `-call mc_get`, one
persistent Thrift connection per worker; `direct` is the same GETs of the
same 100-byte values sent by go-redis or gomemcache from the same load
generator (`faed-bench -direct redis|memcache`). Through faed a call
crosses two loopback hops instead of one, so the latency floor is about 2×
direct. Each row is the median of {rounds} interleaved runs of {d}.

{table(["call", "workers", "path", "calls/s", "p50 µs", "p99 µs"], rows)}

{table(["call", "workers", "p50 faed / direct", "calls/s faed / direct", "errors"], ratios)}"""))
PY
publish backends
