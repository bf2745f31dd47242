#!/usr/bin/env bash
# The dev stack: real backend servers on loopback, non-default ports, state
# under $BACKENDS_DIR (default var/backends). Idempotent.
#   scripts/backends.sh up            start what is not running, write backends.env
#   scripts/backends.sh down          stop everything this script started
#   scripts/backends.sh stop NAME     stop one server (redis1, redis2, memcached1, memcached2, mysql, mongo, zk)
#   scripts/backends.sh start NAME    start one server again
#   scripts/backends.sh fixture       reload scripts/mysql-fixture.sql (resets the MySQL data)
# Ports: REDIS_PORTS (16379 16380), MEMCACHED_PORTS (11311 11312), MYSQL_PORT
# (13306), MONGO_PORT (27018), ZK_PORT (12181); an empty list or value leaves
# that kind out. BACKENDS_TIMEOUT (180) bounds each server's start in
# seconds: generous, since a loaded machine starts MariaDB or a JVM slowly.
# A server that dies or does not come up prints the tail of its log.
# mongo is contrib/mongoshim (FerretDB on SQLite, a dev/test stand-in for
# MongoDB), built to var/bin/mongoshim when missing or older than its source.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BACKENDS_DIR:-var/backends}
REDIS_PORTS=(${REDIS_PORTS-16379 16380})
MEMCACHED_PORTS=(${MEMCACHED_PORTS-11311 11312})
MYSQL_PORT=${MYSQL_PORT-13306}
MONGO_PORT=${MONGO_PORT-27018}
ZK_PORT=${ZK_PORT-12181}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

TIMEOUT=${BACKENDS_TIMEOUT:-180}

alive() { [[ -f $DIR/$1.pid ]] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

log_of() { # NAME -> the files a server writes its start-up into
	case $1 in
	redis*) echo "$DIR/$1/redis.log $DIR/$1.out" ;;
	memcached*) echo "$DIR/$1.log" ;;
	mysql) echo "$DIR/mysql/error.log $DIR/mysql/stdout.log" ;;
	mongo) echo "$DIR/mongo.log" ;;
	zk) echo "$DIR/zk.log" ;;
	esac
}

show_log() { # NAME: the tail of its logs on stderr, where a test prints it
	local f
	for f in $(log_of "$1"); do
		[[ -s $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 30 "$f" >&2
	done
}

# wait_for NAME CMD...: until CMD succeeds, the server's process dies, or
# TIMEOUT seconds pass.
wait_for() {
	local name=$1 start=$SECONDS; shift
	until "$@" >/dev/null 2>&1; do
		if ! alive "$name"; then
			echo "backends: $name exited during start-up" >&2
			show_log "$name"
			return 1
		fi
		if ((SECONDS - start >= TIMEOUT)); then
			echo "backends: $name not ready after ${TIMEOUT}s" >&2
			show_log "$name"
			return 1
		fi
		sleep 0.05
	done
}

tcp_says() { # PORT REQUEST EXPECT
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf "$2" >&3
	local line
	IFS= read -r -t 1 line <&3 || return 1
	exec 3>&-
	[[ $line == *"$3"* ]]
}

port_of() { # NAME -> port
	case $1 in
	redis[0-9]) echo "${REDIS_PORTS[${1#redis} - 1]}" ;;
	memcached[0-9]) echo "${MEMCACHED_PORTS[${1#memcached} - 1]}" ;;
	mysql) echo "$MYSQL_PORT" ;;
	mongo) echo "$MONGO_PORT" ;;
	zk) echo "$ZK_PORT" ;;
	*) echo "backends: unknown server $1" >&2; return 1 ;;
	esac
}

start_one() { # NAME
	local name=$1 port
	port=$(port_of "$name")
	alive "$name" && return 0
	case $name in
	redis*)
		mkdir -p "$DIR/$name"
		redis-server --bind 127.0.0.1 --port "$port" --dir "$DIR/$name" --save '' --appendonly no \
			--logfile "$DIR/$name/redis.log" --daemonize no </dev/null >"$DIR/$name.out" 2>&1 &
		echo $! >"$DIR/$name.pid"
		wait_for "$name" tcp_says "$port" 'PING\r\n' PONG
		;;
	memcached*)
		local user=()
		((EUID == 0)) && user=(-u "$(id -u memcache >/dev/null 2>&1 && echo memcache || echo root)")
		memcached "${user[@]}" -l 127.0.0.1 -p "$port" -U 0 -m 64 -c 4096 </dev/null >"$DIR/$name.log" 2>&1 &
		echo $! >"$DIR/$name.pid"
		wait_for "$name" tcp_says "$port" 'version\r\n' VERSION
		;;
	mysql) start_mysql "$port" ;;
	mongo) start_mongo "$port" ;;
	zk) start_zk "$port" ;;
	esac
}

tcp_accepts() { exec 3<>"/dev/tcp/127.0.0.1/$1" && exec 3>&-; } # PORT
mongo_ready() { alive mongo && tcp_accepts "$1"; } # PORT: not some other listener

# The shim is built apart (never with -race: its SQLite crawls under -race),
# once: stacks starting side by side wait on a lock for the first build
# instead of each compiling FerretDB, and a half-written binary is never run.
SHIM=var/bin/mongoshim
shim_stale() {
	local src
	[[ -x $SHIM ]] || return 0
	for src in contrib/mongoshim/main.go contrib/mongoshim/go.mod contrib/mongoshim/go.sum; do
		[[ $src -nt $SHIM ]] && return 0
	done
	return 1
}
build_shim() {
	mkdir -p var/bin
	(
		flock 9
		shim_stale || exit 0
		(cd contrib/mongoshim && go build -o "../../$SHIM.$$" . && mv -f "../../$SHIM.$$" "../../$SHIM") ||
			{ rm -f "$SHIM.$$"; echo "backends: building $SHIM failed" >&2; exit 1; }
	) 9>var/bin/mongoshim.lock
}
start_mongo() { # PORT
	build_shim || return 1
	mkdir -p "$DIR/mongo"
	$SHIM -listen "127.0.0.1:$1" -sqlite-url "file:$DIR/mongo/" </dev/null >"$DIR/mongo.log" 2>&1 &
	echo $! >"$DIR/mongo.pid"
	wait_for mongo mongo_ready "$1"
}

# ZooKeeper answers ruok before it serves; srvr says when it does. Its data
# directory survives a stop, so a restarted server keeps its sessions.
# One attempt is bounded: a starting server may accept and then say nothing.
zk_ready() ( exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && timeout 0.5 grep -q "Mode: standalone" <&3 ) # PORT
start_zk() { # PORT
	mkdir -p "$DIR/zk/data"
	cat >"$DIR/zk/zoo.cfg" <<CFG
tickTime=500
minSessionTimeout=1000
maxSessionTimeout=60000
initLimit=10
syncLimit=5
dataDir=$DIR/zk/data
clientPort=$1
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr,conf
CFG
	java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.log.dir="$DIR/zk" \
		-Dzookeeper.root.logger=INFO,CONSOLE -Dlog4j.configuration=file:/etc/zookeeper/conf/log4j.properties \
		-cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$DIR/zk/zoo.cfg" </dev/null >"$DIR/zk.log" 2>&1 &
	echo $! >"$DIR/zk.pid"
	wait_for zk zk_ready "$1"
}

# mariadbd as root must be told to stay root: the state directory may be
# one only root can enter (a test's temporary directory).
# Its own tmpdir: bootstraps sharing /tmp collide on temporary table names
# when stacks start side by side (install fails, or mariadbd crashes).
MYOPTS=(--no-defaults --datadir="$DIR/mysql/data" --tmpdir="$DIR/mysql/tmp" --innodb-log-file-size=16M --innodb-buffer-pool-size=64M)
((EUID == 0)) && MYOPTS+=(--user=root)
mysql_client() { mariadb --no-defaults --socket="$DIR/mysql/mysqld.sock" -uroot "$@"; }

start_mysql() { # PORT: a new data directory gets the fixture
	local fresh=
	mkdir -p "$DIR/mysql/tmp"
	if [[ ! -d $DIR/mysql/data/mysql ]]; then
		mariadb-install-db "${MYOPTS[@]}" --auth-root-authentication-method=normal --skip-test-db \
			--skip-name-resolve >"$DIR/mysql/install.log" 2>&1 ||
			{ echo "backends: mariadb-install-db failed:" >&2; tail -5 "$DIR/mysql/install.log" >&2; return 1; }
		fresh=1
	fi
	mariadbd "${MYOPTS[@]}" --socket="$DIR/mysql/mysqld.sock" --port="$1" --bind-address=127.0.0.1 \
		--pid-file="$DIR/mysql/mysqld.pid" --log-error="$DIR/mysql/error.log" --skip-name-resolve \
		--innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 --sync-binlog=0 \
		--max-connections=500 </dev/null >"$DIR/mysql/stdout.log" 2>&1 &
	echo $! >"$DIR/mysql.pid"
	wait_for mysql mysql_client -e 'SELECT 1'
	[[ -z $fresh ]] || load_fixture
}

load_fixture() { mysql_client <scripts/mysql-fixture.sql; }

stop_one() { # NAME: SIGTERM, then SIGKILL after 10s; a zombie counts as gone
	local name=$1 pid
	[[ -f $DIR/$name.pid ]] || return 0
	pid=$(cat "$DIR/$name.pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 200); do
		local st
		st=$(ps -o stat= -p "$pid" 2>/dev/null || true)
		[[ -z $st || $st == Z* ]] && break
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$DIR/$name.pid"
}

servers() {
	local i
	for i in "${!REDIS_PORTS[@]}"; do echo "redis$((i + 1))"; done
	for i in "${!MEMCACHED_PORTS[@]}"; do echo "memcached$((i + 1))"; done
	[[ -z $MYSQL_PORT ]] || echo mysql
	[[ -z $MONGO_PORT ]] || echo mongo
	[[ -z $ZK_PORT ]] || echo zk
}

write_env() {
	local redis=() mc=() p
	for p in "${REDIS_PORTS[@]}"; do redis+=("127.0.0.1:$p"); done
	for p in "${MEMCACHED_PORTS[@]}"; do mc+=("127.0.0.1:$p"); done
	{
		echo "# written by scripts/backends.sh; servers in the order etc/faed.dev.toml lists them"
		echo "FAED_REDIS=$(IFS=,; echo "${redis[*]}")"
		echo "FAED_MEMCACHE=$(IFS=,; echo "${mc[*]}")"
		[[ -z $MYSQL_PORT ]] || echo "FAED_MYSQL=127.0.0.1:$MYSQL_PORT"
		[[ -z $MONGO_PORT ]] || echo "FAED_MONGO=mongodb://127.0.0.1:$MONGO_PORT/"
		[[ -z $ZK_PORT ]] || echo "FAED_ZK=127.0.0.1:$ZK_PORT"
	} >"$DIR/backends.env.tmp"
	mv "$DIR/backends.env.tmp" "$DIR/backends.env"
}

case ${1:-} in
up)
	scripts/deps.sh
	for s in $(servers); do start_one "$s"; done
	write_env
	[[ $DIR == "$(pwd)/var/backends" ]] && cp "$DIR/backends.env" var/backends.env
	echo "backends up: $(servers | tr '\n' ' ')(state in $DIR)" >&2
	;;
down)
	for s in $(servers); do stop_one "$s"; done
	;;
start) start_one "$2" ;;
stop) stop_one "$2" ;;
fixture) load_fixture ;;
*)
	sed -n '2,12p' "$0" >&2
	exit 2
	;;
esac
