#!/usr/bin/env bash
# Foundation benchmark: faed vs a bare Apache Thrift TSimpleServer vs a raw
# echo server, all on loopback, run side by side and interleaved so drift
# hits every target alike. Writes the section between the bench:foundation
# markers of docs/BENCHMARKS.md.
#   BENCH_D (5s) measured time per run, BENCH_C (16) workers,
#   BENCH_ROUNDS (3) rounds; each cell reports the median round.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_D:-5s} C=${BENCH_C:-16} ROUNDS=${BENCH_ROUNDS:-3}
W=var/bench
rm -rf "$W" && mkdir -p "$W"
go build -o "$W/" ./cmd/faed ./cmd/faed-bench ./contrib/baseline/tsimple ./contrib/baseline/echo

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

cat >"$W/faed.toml" <<TOML
[server]
listen = "127.0.0.1:19001"
unix = "$PWD/$W/faed.sock"
[admin]
listen = "127.0.0.1:19101"
[log]
level = "warn"
TOML
"$W/faed" -conf "$W/faed.toml" 2>"$W/faed.log" & pids+=($!)
"$W/tsimple" -addr 127.0.0.1:19002 -unix "$PWD/$W/tsimple.sock" 2>"$W/tsimple.log" & pids+=($!)
"$W/echo" -addr 127.0.0.1:19003 -unix "$PWD/$W/echo.sock" 2>"$W/echo.log" & pids+=($!)
for sock in faed tsimple echo; do
	for _ in $(seq 100); do [[ -S $W/$sock.sock ]] && break; sleep 0.05; done
done

# Resident memory per idle session, on fresh processes: open IDLE_N
# connections, one call each, hold them, compare RSS with and without.
IDLE_N=${BENCH_IDLE:-8192}
ulimit -n $((IDLE_N * 2 + 1024)) 2>/dev/null || true
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
idle_rows=""
for i in 0 1; do
	label=$([[ $i == 0 ]] && echo faed || echo tsimple)
	port=$([[ $i == 0 ]] && echo 19001 || echo 19002)
	pid=${pids[$i]}
	before=$(rss "$pid")
	"$W/faed-bench" -addr "127.0.0.1:$port" -mode idle -c "$IDLE_N" -d 3s 2>"$W/idle-$label.log" >/dev/null &
	bench=$!
	for _ in $(seq 600); do grep -q holding "$W/idle-$label.log" && break; sleep 0.1; done
	sleep 1
	during=$(rss "$pid")
	wait "$bench"
	per=$(python3 -c "print(f'{($during - $before) / $IDLE_N:.1f}')")
	idle_rows+="| $label | $IDLE_N | $((before / 1024)) MiB | $((during / 1024)) MiB | $per KiB |"$'\n'
done

declare -A addr=(
	[faed-tcp]=127.0.0.1:19001 [tsimple-tcp]=127.0.0.1:19002 [echo-tcp]=127.0.0.1:19003
	[faed-unix]=$PWD/$W/faed.sock [tsimple-unix]=$PWD/$W/tsimple.sock [echo-unix]=$PWD/$W/echo.sock
)
for round in $(seq "$ROUNDS"); do
	for mode in persistent short; do
		for label in faed-tcp tsimple-tcp echo-tcp faed-unix tsimple-unix echo-unix; do
			echo "round $round: $label $mode" >&2
			"$W/faed-bench" -addr "${addr[$label]}" -label "$label" -mode "$mode" -call noop \
				-c "$C" -d "$D" -warmup 1s -json 2>/dev/null >>"$W/results.jsonl"
		done
	done
done

table=$("$W/faed-bench" -report "$W/results.jsonl")
section=$(cat <<MD
<!-- bench:foundation:start -->
## Foundation: faed vs bare TSimpleServer vs raw echo (noop)

Command: \`make bench\` (\`scripts/bench.sh\`, BENCH_D=$D BENCH_C=$C BENCH_ROUNDS=$ROUNDS), run $(date -u +%Y-%m-%dT%H:%MZ).
Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), $(go version | cut -d' ' -f3).

All servers and the load generator share the machine's cores, on loopback.
\`faed-bench\` sends pre-encoded noop calls (buffered transport, strict
binary): \`persistent\` keeps one connection per worker, \`short\` connects,
makes one call and closes, as php-fpm does. \`tsimple\` is Apache Thrift's
\`TSimpleServer\` with the same generated processor, run with the library's
defaults; \`echo\` reads the request bytes and writes a pre-encoded reply
without decoding (the floor). Each row is the median of $ROUNDS interleaved
runs of $D with $C workers.

$table

Resident memory per idle session: \`faed-bench -mode idle\` opens the
connections, makes one call on each and holds them; RSS is read from
/proc before and while they are held, on freshly started servers.

| server | idle sessions | RSS before | RSS with them | per session |
|---|---|---|---|---|
$idle_rows
<!-- bench:foundation:end -->
MD
)
printf "%s\n" "$section" | scripts/docsection.py foundation
