#!/usr/bin/env bash
# Three faed nodes on the dev stack: 127.0.0.1:9011-9013 (admin :9111-9113),
# each with etc/faed.dev.toml, its own unix socket and id state under
# var/cluster, logs in var/cluster/nodeN.log.
#   scripts/cluster.sh up      start the dev stack and the nodes not running
#   scripts/cluster.sh down    stop the nodes (SIGTERM: they deregister first)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=var/cluster
NODES=(1 2 3)

alive() { [[ -f $DIR/node$1.pid ]] && kill -0 "$(cat "$DIR/node$1.pid")" 2>/dev/null; }

up() {
	scripts/backends.sh up
	mkdir -p "$DIR" var/bin
	go build -o var/bin/ ./cmd/faed ./cmd/faed-ctl
	set -a && . var/backends.env && set +a
	for i in "${NODES[@]}"; do
		alive "$i" && continue
		FAED_LISTEN=127.0.0.1:901$i FAED_ADMIN=127.0.0.1:911$i FAED_UNIX=$DIR/node$i.sock \
			FAED_ID_STATE=$DIR/node$i-id.state var/bin/faed -conf etc/faed.dev.toml </dev/null >"$DIR/node$i.log" 2>&1 &
		echo $! >"$DIR/node$i.pid"
	done
	for i in "${NODES[@]}"; do
		for _ in $(seq 100); do
			curl -fsS "http://127.0.0.1:911$i/readyz" >/dev/null 2>&1 && break
			alive "$i" || { echo "cluster: node$i exited; log in $DIR/node$i.log" >&2; exit 1; }
			sleep 0.1
		done
	done
	echo "cluster up: 127.0.0.1:9011 127.0.0.1:9012 127.0.0.1:9013 (logs in $DIR)" >&2
	var/bin/faed-ctl -zk "$FAED_ZK" peers 2>/dev/null || true
}

down() {
	local i pid
	for i in "${NODES[@]}"; do
		[[ -f $DIR/node$i.pid ]] || continue
		pid=$(cat "$DIR/node$i.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$DIR/node$i.pid"
	done
}

case ${1:-} in
up) up ;;
down) down ;;
*) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac
