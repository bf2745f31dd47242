#!/usr/bin/env bash
# Binary upgrades under load: faed-bench (short connections over TCP and the
# unix socket, and persistent ones) runs while faed is upgraded
# BENCH_UPGRADES times (5), one every BENCH_UPGRADE_EVERY seconds (2), with
# `faed -upgrade`; each run is followed by an upgrade-free run of the same
# length as its baseline. Prints a markdown table (calls, failed calls,
# refused connects, p99 and max latency, how long each upgrade took) to
# stdout and var/bench-upgrade/section.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/benchlib.sh
UPGRADES=${BENCH_UPGRADES:-5}
EVERY=${BENCH_UPGRADE_EVERY:-2}
FAED=19731 ADMIN=19732
workdir "$PWD/var/bench-upgrade"
build ./cmd/faed ./cmd/faed-bench

# The faed serving now: each upgrade replaces the process, so the one to
# stop at exit is whichever /stats names last.
current_pid() { curl -sf "http://127.0.0.1:$ADMIN/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
stop_current() {
	local p
	p=$(current_pid 2>/dev/null) || return 0
	kill "$p" 2>/dev/null || true
}
trap 'stop_current; cleanup' EXIT

cat >"$W/faed.toml" <<TOML
[server]
listen = "127.0.0.1:$FAED"
unix = "$W/faed.sock"
[admin]
listen = "127.0.0.1:$ADMIN"
[log]
level = "info"
[id]
state_file = "$W/id.state"
TOML
start faed "$W/faed.log" "$B/faed" -conf "$W/faed.toml"
wait_ready faed listening "127.0.0.1:$FAED" "$W/faed.sock"

D=$((UPGRADES * EVERY + EVERY))
# bench LABEL ADDR MODE CALL UPGRADE(0|1): one faed-bench run; with 1,
# UPGRADES upgrades during it, each one's time appended to $W/took.
bench() {
	local label=$1 addr=$2 mode=$3 call=$4 up=$5 bp i
	"$B/faed-bench" -label "$label" -addr "$addr" -mode "$mode" -call "$call" -c 16 -d "${D}s" -warmup 0s -json \
		>>"$W/results.jsonl" 2>>"$W/runs.log" &
	bp=$!
	if ((up)); then
		for ((i = 0; i < UPGRADES; i++)); do
			sleep "$EVERY"
			"$B/faed" -upgrade -admin "127.0.0.1:$ADMIN" >>"$W/took" 2>>"$W/upgrade-errors" ||
				echo "upgrade failed" >>"$W/took"
		done
	fi
	wait "$bp" || { tail -n 20 "$W/runs.log" >&2; exit 1; }
}
for spec in "tcp 127.0.0.1:$FAED short id_next" "unix $W/faed.sock short id_next" "tcp 127.0.0.1:$FAED persistent noop"; do
	read -r net addr mode call <<<"$spec"
	bench "$net $mode $call, upgrades" "$addr" "$mode" "$call" 1
	bench "$net $mode $call, none" "$addr" "$mode" "$call" 0
done
python3 - "$W" "$UPGRADES" <<'PY' | tee "$W/section.md"
import json, re, statistics, sys
w, n = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(f"{w}/results.jsonl")]
took = open(f"{w}/took").read()
ok = [float(x) * (1000 if u == "s" else 1 if u == "ms" else 0.001) for x, u in re.findall(r"ready after ([\d.]+)(ms|µs|s)", took)]
print(f"{len(ok)} of {3 * n} upgrades succeeded; the new process was ready after "
      f"{statistics.median(ok):.1f} ms (median; max {max(ok):.1f} ms).\n" if ok else "no upgrade succeeded\n")
print("| run | calls | calls/s | failed calls | refused connects | p99 µs | max µs |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    kinds = r.get("error_kinds") or {}
    refused = kinds.get("connect", 0)
    print(f"| {r['label']} | {r['calls']} | {r['calls_per_s']:.0f} | {r['errors'] - refused} | {refused} | {r['p99_us']:.0f} | {r['max_us']:.0f} |")
PY
