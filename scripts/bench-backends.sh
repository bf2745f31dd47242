#!/usr/bin/env bash
# Redis and memcache through faed vs the same GETs sent directly with
# go-redis and gomemcache from the same load generator, side by side and
# interleaved. One redis and one memcached (started by backends.sh), faed
# pooled on them. Writes the bench:backends section of docs/BENCHMARKS.md.
#   BENCH_D (5s) per run, BENCH_ROUNDS (3); workers 1 (latency) and 64
#   (throughput).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_D:-5s} ROUNDS=${BENCH_ROUNDS:-3}
W=var/bench-backends B=var/bin
rm -rf "$W" && mkdir -p "$W" "$B"
go build -o "$B/" ./cmd/faed ./cmd/faed-bench

export BACKENDS_DIR=$PWD/$W/stack REDIS_PORTS=19379 MEMCACHED_PORTS=19311 MYSQL_PORT= MONGO_PORT= ZK_PORT=
pid=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null
	wait 2>/dev/null || true
	scripts/backends.sh down
}
trap cleanup EXIT
scripts/backends.sh up

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
"$B/faed" -conf "$W/faed.toml" 2>"$W/faed.log" &
pid=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/19021) 2>/dev/null && break; sleep 0.05; done

run() { # LABEL CALL C ARGS...
	local label=$1 call=$2 c=$3
	shift 3
	echo "round $round: $label $call c=$c" >&2
	"$B/faed-bench" -label "$label-c$c" -call "$call" -mode persistent -c "$c" -d "$D" -warmup 1s -json "$@" \
		2>/dev/null >>"$W/results.jsonl"
}
for round in $(seq "$ROUNDS"); do
	for c in 1 64; do
		run faed rd_get "$c" -addr 127.0.0.1:19021
		run direct rd_get "$c" -addr 127.0.0.1:19379 -direct redis
		run faed mc_get "$c" -addr 127.0.0.1:19021
		run direct mc_get "$c" -addr 127.0.0.1:19311 -direct memcache
	done
done

python3 - "$W/results.jsonl" "$D" "$ROUNDS" <<'PY' | scripts/docsection.py backends
import json, subprocess, sys
path, d, rounds = sys.argv[1:]
runs = {}
for line in open(path):
    r = json.loads(line)
    runs.setdefault((r["call"], r["label"]), []).append(r)
med = lambda rs: sorted(rs, key=lambda r: r["calls_per_s"])[len(rs) // 2]
rows, ratios = [], []
for call in ("rd_get", "mc_get"):
    for c in (1, 64):
        f, x = med(runs[(call, f"faed-c{c}")]), med(runs[(call, f"direct-c{c}")])
        errs = sum(r["errors"] for r in runs[(call, f"faed-c{c}")] + runs[(call, f"direct-c{c}")])
        for label, r in (("through faed", f), ("direct", x)):
            rows.append(f"| {call} | {c} | {label} | {r['calls_per_s']:.0f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} |")
        ratios.append(f"| {call} | {c} | {f['p50_us']/x['p50_us']:.2f}× | {f['calls_per_s']/x['calls_per_s']:.2f}× | {errs} |")
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
print(f"""<!-- bench:backends:start -->
## Redis and memcache: through faed vs direct

Command: `make bench-backends` (`scripts/bench-backends.sh`, BENCH_D={d} BENCH_ROUNDS={rounds}).
Machine: {nproc} cores, {cpu}.

One redis-server and one memcached on loopback, started by
`scripts/backends.sh`; faed has a pool `default` on each. `through faed`
is `faed-bench -call rd_get` (rd_call GET) or `-call mc_get`, one
persistent Thrift connection per worker; `direct` is the same GETs of the
same 100-byte values sent by go-redis or gomemcache from the same load
generator (`faed-bench -direct redis|memcache`). Through faed a call
crosses two loopback hops instead of one, so the latency floor is about 2×
direct. Each row is the median of {rounds} interleaved runs of {d}.

| call | workers | path | calls/s | p50 µs | p99 µs |
|---|---|---|---|---|---|
""" + "\n".join(rows) + """

| call | workers | p50 faed / direct | calls/s faed / direct | errors |
|---|---|---|---|---|
""" + "\n".join(ratios) + """
<!-- bench:backends:end -->""")
PY
