#!/usr/bin/env bash
# my_query through faed (cache hit and cache miss) vs the same primary-key
# SELECT sent directly with go-sql-driver from the same load generator,
# side by side and interleaved. One MariaDB with the fixture (started by
# backends.sh) plus 1024 Doc rows; faed on it with the dev pools. Writes the
# bench:mysql section of docs/BENCHMARKS.md.
#   BENCH_D (5s) per run, BENCH_ROUNDS (3); workers 1 (latency) and 16.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/benchlib.sh
D=${BENCH_D:-5s} ROUNDS=${BENCH_ROUNDS:-3}
workdir var/bench-mysql
build ./cmd/faed ./cmd/faed-bench
backends_up mysql=19306
mariadb --no-defaults --socket="$BACKENDS_DIR/mysql/mysqld.sock" -uroot \
	-e "INSERT INTO faed_global.Doc SELECT seq, CONCAT('{\"user\":', seq, ',\"name\":\"u', seq, '\"}') FROM faed_global.seq_1_to_1024"

{
	printf '[server]\nlisten = "127.0.0.1:19031"\n[admin]\nlisten = ""\n[log]\nlevel = "warn"\n'
	# shellcheck disable=SC2016 # the dev config's ${FAED_MYSQL:-…}, literally
	sed -n '/^\[mysql\]/,$p' etc/faed.dev.toml | sed 's/\${FAED_MYSQL:-127.0.0.1:13306}/127.0.0.1:19306/'
} >"$W/faed.toml"
start faed "$W/faed.log" "$B/faed" -conf "$W/faed.toml"
wait_ready faed listening 127.0.0.1:19031

for round in $(seq "$ROUNDS"); do
	for c in 1 16; do
		run "faed-c$c" noop persistent "$c" -addr 127.0.0.1:19031
		run "faed-c$c" my_hit persistent "$c" -addr 127.0.0.1:19031
		run "faed-c$c" my_miss persistent "$c" -addr 127.0.0.1:19031
		run "direct-c$c" my_miss persistent "$c" -addr "faed:faed@tcp(127.0.0.1:19306)/faed_global" -direct mysql
	done
done

report python3 - "$W/results.jsonl" "$D" "$ROUNDS" <<'PY'
import sys
from benchlib import errors, load_runs, machine, median_run, rate_cells, section, table, times
path, d, rounds = sys.argv[1:]
runs = load_runs(path, "call", "label")
PATHS = (("noop", "faed", "faed noop (the Thrift round trip alone)"),
         ("my_hit", "faed", "through faed, cache hit"),
         ("my_miss", "faed", "through faed, cache miss"),
         ("my_miss", "direct", "go-sql-driver direct"))
rows, ratios = [], []
for c in (1, 16):
    med = []
    for call, via, label in PATHS:
        rs = runs[(call, f"{via}-c{c}")]
        med.append(median_run(rs))
        rows.append([c, label, *rate_cells(med[-1]), errors(rs)])
    _, hit, miss, x = med
    ratios.append([c, times(hit["p50_us"], x["p50_us"]), times(miss["p50_us"], x["p50_us"]),
                   times(hit["calls_per_s"], x["calls_per_s"]), times(miss["calls_per_s"], x["calls_per_s"])])
print(section("mysql", f"""## MySQL: my_query through faed (cache hit, cache miss) vs go-sql-driver direct

Command: `make bench-mysql` (`scripts/bench-mysql.sh`, BENCH_D={d} BENCH_ROUNDS={rounds}).
Machine: {machine()}.

One MariaDB 10.11 on loopback, started by `scripts/backends.sh` with the
fixture plus 1024 rows in `faed_global.Doc`; faed runs the dev config's
MySQL pools. Every call is `SELECT id, data FROM Doc WHERE id = ?` for ids
cycling through 1..1024, one persistent Thrift connection per worker.
`cache hit` is `faed-bench -call my_hit` (my_query with a cacheKey per id;
a setup pass fills the cache), `cache miss` is `-call my_miss` (no
cacheKey: every call reaches MariaDB), `direct` is the same SELECTs sent by
go-sql-driver from the same load generator (`-direct mysql`, placeholders
interpolated as faed does). `noop` through the same faed shows the floor
of one Thrift round trip. Each row is the median of {rounds} interleaved
runs of {d}.

{table(["workers", "path", "calls/s", "p50 µs", "p99 µs", "errors"], rows)}

{table(["workers", "p50 hit / direct", "p50 miss / direct", "calls/s hit / direct", "calls/s miss / direct"], ratios)}"""))
PY
publish mysql
