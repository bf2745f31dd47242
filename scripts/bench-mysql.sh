#!/usr/bin/env bash
# my_query through faed (cache hit and cache miss) vs the same primary-key
# SELECT sent directly with go-sql-driver from the same load generator,
# side by side and interleaved. One MariaDB with the fixture (started by
# backends.sh) plus 1024 Doc rows; faed on it with the dev pools. Writes the
# bench:mysql section of docs/BENCHMARKS.md.
#   BENCH_D (5s) per run, BENCH_ROUNDS (3); workers 1 (latency) and 16.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_D:-5s} ROUNDS=${BENCH_ROUNDS:-3}
W=var/bench-mysql B=var/bin
rm -rf "$W" && mkdir -p "$W" "$B"
go build -o "$B/" ./cmd/faed ./cmd/faed-bench

export BACKENDS_DIR=$PWD/$W/stack REDIS_PORTS= MEMCACHED_PORTS= MYSQL_PORT=19306 MONGO_PORT= ZK_PORT=
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null
	wait 2>/dev/null || true
	scripts/backends.sh down
}
trap cleanup EXIT
scripts/backends.sh up
mariadb --no-defaults --socket="$BACKENDS_DIR/mysql/mysqld.sock" -uroot \
	-e "INSERT INTO faed_global.Doc SELECT seq, CONCAT('{\"user\":', seq, ',\"name\":\"u', seq, '\"}') FROM faed_global.seq_1_to_1024"

{
	printf '[server]\nlisten = "127.0.0.1:19031"\n[admin]\nlisten = ""\n[log]\nlevel = "warn"\n'
	sed -n '/^\[mysql\]/,$p' etc/faed.dev.toml | sed 's/\${FAED_MYSQL:-127.0.0.1:13306}/127.0.0.1:19306/'
} >"$W/faed.toml"
"$B/faed" -conf "$W/faed.toml" 2>"$W/faed.log" &
pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/19031) 2>/dev/null && break; sleep 0.05; done

run() { # LABEL CALL C ARGS...
	local label=$1 call=$2 c=$3
	shift 3
	echo "round $round: $label $call c=$c" >&2
	"$B/faed-bench" -label "$label-c$c" -call "$call" -mode persistent -c "$c" -d "$D" -warmup 1s -json "$@" \
		2>/dev/null >>"$W/results.jsonl"
}
for round in $(seq "$ROUNDS"); do
	for c in 1 16; do
		run faed noop "$c" -addr 127.0.0.1:19031
		run faed my_hit "$c" -addr 127.0.0.1:19031
		run faed my_miss "$c" -addr 127.0.0.1:19031
		run direct my_miss "$c" -addr "faed:faed@tcp(127.0.0.1:19306)/faed_global" -direct mysql
	done
done

python3 - "$W/results.jsonl" "$D" "$ROUNDS" <<'PY' | scripts/docsection.py mysql
import json, subprocess, sys
path, d, rounds = sys.argv[1:]
runs = {}
for line in open(path):
    r = json.loads(line)
    runs.setdefault((r["call"], r["label"]), []).append(r)
med = lambda rs: sorted(rs, key=lambda r: r["calls_per_s"])[len(rs) // 2]
rows, ratios = [], []
for c in (1, 16):
    hit, miss, x = med(runs[("my_hit", f"faed-c{c}")]), med(runs[("my_miss", f"faed-c{c}")]), med(runs[("my_miss", f"direct-c{c}")])
    noop = med(runs[("noop", f"faed-c{c}")])
    for label, r, key in (("faed noop (the Thrift round trip alone)", noop, ("noop", f"faed-c{c}")),
                          ("through faed, cache hit", hit, ("my_hit", f"faed-c{c}")),
                          ("through faed, cache miss", miss, ("my_miss", f"faed-c{c}")),
                          ("go-sql-driver direct", x, ("my_miss", f"direct-c{c}"))):
        errs = sum(q["errors"] for q in runs[key])
        rows.append(f"| {c} | {label} | {r['calls_per_s']:.0f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} | {errs} |")
    ratios.append(f"| {c} | {hit['p50_us']/x['p50_us']:.2f}× | {miss['p50_us']/x['p50_us']:.2f}× | "
                  f"{hit['calls_per_s']/x['calls_per_s']:.2f}× | {miss['calls_per_s']/x['calls_per_s']:.2f}× |")
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
print(f"""<!-- bench:mysql:start -->
## MySQL: my_query through faed (cache hit, cache miss) vs go-sql-driver direct

Command: `make bench-mysql` (`scripts/bench-mysql.sh`, BENCH_D={d} BENCH_ROUNDS={rounds}).
Machine: {nproc} cores, {cpu}.

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

| workers | path | calls/s | p50 µs | p99 µs | errors |
|---|---|---|---|---|---|
""" + "\n".join(rows) + """

| workers | p50 hit / direct | p50 miss / direct | calls/s hit / direct | calls/s miss / direct |
|---|---|---|---|---|
""" + "\n".join(ratios) + """
<!-- bench:mysql:end -->""")
PY
