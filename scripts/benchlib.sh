# shellcheck shell=bash
# What every scripts/bench*.sh shares; sourced at the repository's root, after
# `set -euo pipefail`. Everything a script starts (servers, backends, the
# report) is stopped when it exits, on success, error or signal. A server is
# waited for by polling a check, with a bound; when it dies first or the bound
# passes, the script fails at once with the tail of that server's log. One
# faed-bench run is `run`; a section reaches docs/BENCHMARKS.md only when its
# report succeeded. The numbers and tables are scripts/benchlib.py.
#   BENCH_READY_TIMEOUT (60) seconds a server or a check may take.
# A script sets D, ROUNDS and its loop variable round before `run`.

B=$PWD/var/bin
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-60}
bench_pids=()
declare -A pid_of=() logs_of=()
backends_started=

# workdir DIR: the script's state, emptied; W names it from then on.
workdir() {
	W=$1
	rm -rf "$W"
	mkdir -p "$W" "$B"
}

build() { go build -o "$B/" "$@"; } # PKG...: binaries into $B

# start NAME LOG CMD...: CMD in the background, its output in LOG, stopped on
# exit. pid_of[NAME] is its pid; LOG is what a failed wait_ready shows.
start() {
	local name=$1 log=$2
	shift 2
	"$@" </dev/null >"$log" 2>&1 &
	bench_pids+=("$!")
	pid_of[$name]=$!
	logs_of[$name]=$log
}

also_log() { logs_of[$1]+=$'\n'$2; } # NAME FILE: another log of NAME's

# wait_ready NAME CHECK...: until CHECK succeeds. If NAME exits first or
# READY_TIMEOUT seconds pass, the script fails with NAME's log.
wait_ready() {
	local name=$1 t0=$SECONDS
	shift
	until "$@" >/dev/null 2>&1; do
		kill -0 "${pid_of[$name]}" 2>/dev/null || fail "$name" "exited before it was ready"
		((SECONDS - t0 < READY_TIMEOUT)) || fail "$name" "not ready after ${READY_TIMEOUT}s ($*)"
		sleep 0.05
	done
}

# listening ADDR [SOCKET]: ADDR (host:port) accepts a connection and, when
# given, the unix socket SOCKET exists.
listening() {
	(exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null || return 1
	[[ -z ${2:-} || -S $2 ]]
}

fail() { # NAME WHY: the last lines of NAME's logs, then exit 1
	local f
	echo "bench: $1 $2" >&2
	while IFS= read -r f; do
		[[ -s $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 30 "$f" >&2
	done <<<"${logs_of[$1]:-}"
	exit 1
}

# backends_up KIND=PORT...: scripts/backends.sh up with only these servers
# (KIND redis, memcached, mysql or zk), state in $W/stack, down on exit.
# backends.sh fails with the log of a server that does not come up.
backends_up() {
	local kv
	BACKENDS_DIR=$(cd "$W" && pwd)/stack
	REDIS_PORTS='' MEMCACHED_PORTS='' MYSQL_PORT='' MONGO_PORT='' ZK_PORT=''
	export BACKENDS_DIR REDIS_PORTS MEMCACHED_PORTS MYSQL_PORT MONGO_PORT ZK_PORT
	for kv in "$@"; do
		case ${kv%%=*} in
		redis) REDIS_PORTS=${kv#*=} ;;
		memcached) MEMCACHED_PORTS=${kv#*=} ;;
		mysql) MYSQL_PORT=${kv#*=} ;;
		zk) ZK_PORT=${kv#*=} ;;
		*) echo "bench: backends_up: unknown $kv" >&2 && exit 2 ;;
		esac
	done
	backends_started=1
	scripts/backends.sh up
}

# run LABEL CALL MODE C ARGS...: one faed-bench run of $D after a 1s warm-up,
# its -json line appended to $W/results.jsonl, its stderr to $W/runs.log.
# shellcheck disable=SC2154 # D, ROUNDS and round are the script's
run() {
	local label=$1 call=$2 mode=$3 c=$4 from
	shift 4
	echo "round $round/$ROUNDS: $label $call $mode c=$c" >&2
	from=$(($(stat -c %s "$W/runs.log" 2>/dev/null || echo 0) + 1))
	"$B/faed-bench" -label "$label" -call "$call" -mode "$mode" -c "$c" -d "$D" -warmup 1s -json "$@" \
		2>>"$W/runs.log" >>"$W/results.jsonl" && return
	echo "bench: faed-bench -label $label -call $call -mode $mode -c $c $* failed:" >&2
	tail -c "+$from" "$W/runs.log" >&2 # this run's own stderr
	exit 1
}

# report CMD...: CMD (a python3 report: scripts/ is on its PYTHONPATH) prints
# a section into $W/section.md. In the background, so that a signal reaches
# the trap at once (bash runs it only when a foreground command ends); its
# standard input (a here-document) passed on explicitly.
report() {
	PYTHONPATH=$PWD/scripts PYTHONDONTWRITEBYTECODE=1 "$@" <&0 >"$W/section.md" &
	bench_pids+=("$!")
	wait "$!"
}

publish() { scripts/docsection.py "$1" <"$W/section.md"; } # NAME: into docs/BENCHMARKS.md

# mine PID: a child of this script still (not a later process given its pid).
mine() { [[ $(ps -o ppid= -p "$1" 2>/dev/null) -eq $$ ]]; }

cleanup() {
	local i p
	set +e
	for ((i = ${#bench_pids[@]} - 1; i >= 0; i--)); do # the last started first
		p=${bench_pids[i]}
		mine "$p" && kill "$p" 2>/dev/null
	done
	for p in "${bench_pids[@]}"; do # SIGKILL what SIGTERM has not ended in 10s
		for _ in $(seq 200); do
			mine "$p" || break
			sleep 0.05
		done
		mine "$p" && kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[[ -z $backends_started ]] || scripts/backends.sh down
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
