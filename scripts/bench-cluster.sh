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
D=${BENCH_D:-5s} ROUNDS=${BENCH_ROUNDS:-3}
W=var/bench-cluster B=var/bin
A=127.0.0.1:19041 BN=127.0.0.1:19042
rm -rf "$W" && mkdir -p "$W" "$B"
go build -o "$B/" ./cmd/faed ./cmd/faed-bench

export BACKENDS_DIR=$PWD/$W/stack REDIS_PORTS= MEMCACHED_PORTS= MYSQL_PORT= MONGO_PORT= ZK_PORT=19181
pids=()
cleanup() {
	((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null || true
	scripts/backends.sh down
}
trap cleanup EXIT
scripts/backends.sh up

for n in A BN; do
	addr=${!n}
	printf '[server]\nlisten = "%s"\n[admin]\nlisten = ""\n[log]\nlevel = "warn"\n[cluster]\nzk_servers = ["127.0.0.1:19181"]\ncache_mode = true\n' \
		"$addr" >"$W/$n.toml"
	"$B/faed" -conf "$W/$n.toml" 2>"$W/$n.log" &
	pids+=($!)
done
for addr in $A $BN; do
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null && break; sleep 0.05; done
done
sleep 1 # both registered and watching each other

run() { # LABEL CALL C ARGS...
	local label=$1 call=$2 c=$3
	shift 3
	echo "round $round: $label $call c=$c" >&2
	"$B/faed-bench" -addr "$A" -label "$label-c$c" -call "$call" -mode persistent -c "$c" -d "$D" -warmup 1s -json "$@" \
		2>/dev/null >>"$W/results.jsonl"
}
for round in $(seq "$ROUNDS"); do
	for c in 1 16; do
		run floor noop "$c"
		for call in lock lc_get; do
			run owner "$call" "$c" -owner "$A" -members "$A,$BN"
			run forwarded "$call" "$c" -owner "$BN" -members "$A,$BN"
		done
	done
done

python3 - "$W/results.jsonl" "$D" "$ROUNDS" <<'PY' | scripts/docsection.py cluster
import json, subprocess, sys
path, d, rounds = sys.argv[1:]
runs = {}
for line in open(path):
    r = json.loads(line)
    runs.setdefault((r["call"], r["label"]), []).append(r)
med = lambda rs: sorted(rs, key=lambda r: r["calls_per_s"])[len(rs) // 2]
rows, ratios = [], []
for c in (1, 16):
    floor = med(runs[("noop", f"floor-c{c}")])
    rows.append(f"| {c} | noop on A (floor) | {floor['calls_per_s']:.0f} | {floor['p50_us']:.0f} | {floor['p99_us']:.0f} | "
                f"{sum(q['errors'] for q in runs[('noop', f'floor-c{c}')])} |")
    for call in ("lock", "lc_get"):
        o, f = med(runs[(call, f"owner-c{c}")]), med(runs[(call, f"forwarded-c{c}")])
        for label, r in (("owner", o), ("forwarded", f)):
            errs = sum(q["errors"] for q in runs[(call, f"{label}-c{c}")])
            rows.append(f"| {c} | {call}, {label} | {r['calls_per_s']:.0f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} | {errs} |")
        ratios.append(f"| {c} | {call} | {f['p50_us']/o['p50_us']:.2f}× | {f['calls_per_s']/o['calls_per_s']:.2f}× |")
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
print(f"""<!-- bench:cluster:start -->
## Cluster: a keyed call served by its owner vs forwarded from a non-owner

Command: `make bench-cluster` (`scripts/bench-cluster.sh`, BENCH_D={d} BENCH_ROUNDS={rounds}).
Machine: {nproc} cores, {cpu}.

Two faed nodes, A and B, registered in one ZooKeeper 3.8 (started by
`scripts/backends.sh`), cluster cache mode on. All load goes to A, one
persistent Thrift connection per worker. `owner` runs use only keys A owns
(`faed-bench -owner A -members A,B`), so A serves them itself; `forwarded`
runs use only keys B owns, so A forwards every call to B (sticky, over
its pooled framed connections) and relays the answer. `lock` is a lock
then an unlock of the worker's key (two calls, each counted); `lc_get`
reads 100-byte values a setup pass stored. Everything shares the same
{nproc} cores: the load generator and both nodes. Each row is the median
of {rounds} interleaved runs of {d}.

| workers | call | calls/s | p50 µs | p99 µs | errors |
|---|---|---|---|---|---|
""" + "\n".join(rows) + """

| workers | call | p50 forwarded / owner | calls/s forwarded / owner |
|---|---|---|---|
""" + "\n".join(ratios) + """
<!-- bench:cluster:end -->""")
PY
