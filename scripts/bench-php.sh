#!/usr/bin/env bash
# PHP pages end to end: nginx + php-fpm + wrk against pages that read Redis
# and MariaDB directly, through twemproxy, or through faed in each client
# mode, side by side in alternating rounds; then the same pages with every
# backend link delayed (Toxiproxy, contrib/linkdelay), as when the backends
# are on other hosts. Writes the bench:php section of docs/BENCHMARKS.md.
#   BENCH_D (6s) per run, BENCH_WARMUP (1s) unmeasured before each run,
#   BENCH_ROUNDS (3), BENCH_PAGES (all) a comma-separated subset of labels
#   (then the section goes to var/bench-php/section.md, not the doc),
#   BENCH_DELAY (250us, or e.g. 1ms) each way on delayed links, empty to
#   skip that set.
#   BENCH_UPGRADE=N: instead, the uncached faed page in each lean client
#   mode and over the generated client's TCP for 2N+2 s while faed is
#   upgraded N times (faed -upgrade, one every 2 s): requests, failed ones
#   and socket errors into var/bench-php/upgrade.md (docs/OPERATIONS.md
#   quotes it).
# Pages and modes: contrib/php/bench/page.php and client.php. Leaves nothing
# running: every server it starts is stopped on exit, error or signal.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/benchlib.sh
ROOT=$PWD
# One run at a time: a second would wipe the first one's state and ports.
mkdir -p var
exec 9>var/bench-php.lock
flock -n 9 || { echo "bench-php: waiting for the run holding var/bench-php.lock" >&2; flock 9; }
REDIS=19479 MYSQL=19406 FAED=19431 FAED_ADMIN=19432 NGINX=19480 TWEM=19481
DREDIS=19579 DMYSQL=19506 DFAED=19531 DFAED_ADMIN=19532 DTWEM=19581 LINKDELAY=19590
DELAY=${BENCH_DELAY-250us}
case $DELAY in
'') ;;
*us) DELAY_US=${DELAY%us} ;;
*ms) DELAY_US=$((${DELAY%ms} * 1000)) ;;
*) echo "bench-php: BENCH_DELAY=$DELAY: want microseconds (250us) or milliseconds (1ms)" >&2; exit 2 ;;
esac

scripts/deps.sh nginx php-fpm php-redis php-mysql wrk nutcracker strace
FPM=$(command -v php-fpm"$(php -r 'echo PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION;')" || command -v php-fpm)

workdir "$ROOT/var/bench-php"
mkdir -p "$W"/{logs,tmp,run}
chmod 755 "$W" "$W/run"
chown www-data "$W/logs" 2>/dev/null || chmod 777 "$W/logs"
build ./cmd/faed ./contrib/linkdelay
backends_up redis="$REDIS" mysql="$MYSQL"
seq 0 9999 | awk '{printf "SET bench:k:%d v%d\r\n", $1, $1}' | redis-cli -p "$REDIS" --pipe >/dev/null
mariadb --no-defaults -uroot --socket="$BACKENDS_DIR/mysql/mysqld.sock" <<'SQL'
DROP DATABASE IF EXISTS faed_bench;
CREATE DATABASE faed_bench;
USE faed_bench;
CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB;
INSERT INTO kv SELECT seq, CONCAT('v', seq) FROM seq_0_to_9999;
SQL

faed_conf() { # NAME TCP ADMIN REDIS MYSQL
	cat >"$W/$1.toml" <<TOML
[server]
listen = "127.0.0.1:$2"
unix = "$W/run/$1.sock"
unix_mode = 0o666 # php-fpm's workers run as www-data
[admin]
listen = "127.0.0.1:$3"
[log]
level = "warn"
[redis.default]
servers = ["127.0.0.1:$4"]
[mysql]
global_pools = ["Bench"]
[mysql.servers.Bench]
addr = "127.0.0.1:$5"
user = "faed"
password = "faed"
db = "faed_bench"
TOML
	start "$1" "$W/logs/$1.log" "$B/faed" -conf "$W/$1.toml"
	wait_ready "$1" listening "127.0.0.1:$2" "$W/run/$1.sock"
}

twemproxy() { # NAME PORT REDIS
	cat >"$W/$1.yml" <<YML
bench:
  listen: 127.0.0.1:$2
  redis: true
  hash: fnv1a_64
  distribution: ketama
  timeout: 750
  servers:
    - 127.0.0.1:$3:1
YML
	start "$1" "$W/logs/$1.out" nutcracker -c "$W/$1.yml" -o "$W/logs/$1.log" -s $(($2 + 1)) -a 127.0.0.1
	also_log "$1" "$W/logs/$1.log"
	wait_ready "$1" listening "127.0.0.1:$2"
}

# Every id's row in faed's query cache before any run, so that the cached
# pages are hits from their first request whatever their place in the order.
warm_cache() { # FAED_NAME
	# shellcheck disable=SC2016 # PHP's own $variables
	php -r 'require "contrib/php/autoload.php";
		$c = Faed\FaedClient::connect("unix://" . $argv[1]);
		$ctx = Faed\FaedClient::context("bench-warm");
		for ($i = 0; $i < 10000; $i++) {
			$r = $c->my_query($ctx, "Bench", "", 0, "SELECT v FROM kv WHERE id = ?", [(string)$i], "kv:$i");
			if (($r->rows[0][0] ?? null) !== "v$i") {
				fwrite(STDERR, "bench-php: query cache warm-up: wrong row for id $i\n");
				exit(1);
			}
		}' "$W/run/$1.sock"
}

faed_conf faed "$FAED" "$FAED_ADMIN" "$REDIS" "$MYSQL"
warm_cache faed
twemproxy twemproxy "$TWEM" "$REDIS"
link() { # NAME LISTEN UPSTREAM: a Toxiproxy proxy, DELAY_US µs each way
	local api=http://127.0.0.1:$LINKDELAY/proxies s
	curl -sSf -o /dev/null -d "{\"name\":\"$1\",\"listen\":\"127.0.0.1:$2\",\"upstream\":\"127.0.0.1:$3\"}" "$api"
	for s in upstream downstream; do
		curl -sSf -o /dev/null "$api/$1/toxics" \
			-d "{\"name\":\"delay_$s\",\"type\":\"latency_us\",\"stream\":\"$s\",\"attributes\":{\"latency\":$DELAY_US}}"
	done
}
if [[ -n $DELAY ]]; then
	start linkdelay "$W/logs/linkdelay.log" "$B/linkdelay" -listen "127.0.0.1:$LINKDELAY"
	wait_ready linkdelay listening "127.0.0.1:$LINKDELAY"
	link redis "$DREDIS" "$REDIS"
	link mysql "$DMYSQL" "$MYSQL"
	faed_conf faed-delay "$DFAED" "$DFAED_ADMIN" "$DREDIS" "$DMYSQL"
	warm_cache faed-delay
	twemproxy twemproxy-delay "$DTWEM" "$DREDIS"
fi

cat >"$W/php-fpm.conf" <<CONF
[global]
pid = $W/run/php-fpm.pid
error_log = $W/logs/php-fpm.log
daemonize = no

[bench]
user = www-data
group = www-data
listen = $W/run/php-fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
listen.backlog = 1024
pm = static
pm.max_children = 8
pm.max_requests = 0
clear_env = no
catch_workers_output = yes
php_admin_value[error_log] = $W/logs/php-errors.log
env[FAED_TCP] = 127.0.0.1:$FAED
env[FAED_UNIX] = $W/run/faed.sock
env[BENCH_REDIS] = 127.0.0.1:$REDIS
env[BENCH_MYSQL] = 127.0.0.1:$MYSQL
env[BENCH_TWEMPROXY] = 127.0.0.1:$TWEM
env[FAED_TCP_DELAY] = 127.0.0.1:$DFAED
env[FAED_UNIX_DELAY] = $W/run/faed-delay.sock
env[BENCH_REDIS_DELAY] = 127.0.0.1:$DREDIS
env[BENCH_MYSQL_DELAY] = 127.0.0.1:$DMYSQL
env[BENCH_TWEMPROXY_DELAY] = 127.0.0.1:$DTWEM
CONF
# The client's classes preloaded (contrib/php/README.md), as recommended;
# the accelerator loaded here when deps.sh could not enable it.
FPM_ARGS=(-d opcache.enable=1 -d opcache.preload="$ROOT/contrib/php/preload.php" -d opcache.preload_user=www-data)
"$FPM" -m | grep -qx thrift_protocol || FPM_ARGS+=(-d extension=thrift_protocol.so)
{ "$FPM" -v | head -n 1; "$FPM" "${FPM_ARGS[@]}" -m; } >"$W/php-fpm.modules" # for the section's facts
start php-fpm "$W/logs/php-fpm.out" "$FPM" --nodaemonize -y "$W/php-fpm.conf" "${FPM_ARGS[@]}"
also_log php-fpm "$W/logs/php-fpm.log"
wait_ready php-fpm test -S "$W/run/php-fpm.sock"

cat >"$W/nginx.conf" <<CONF
worker_processes 2;
pid $W/run/nginx.pid;
error_log $W/logs/nginx-error.log warn;
user www-data;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $W/tmp/body;  proxy_temp_path $W/tmp/proxy;  fastcgi_temp_path $W/tmp/fastcgi;
    uwsgi_temp_path $W/tmp/uwsgi;       scgi_temp_path $W/tmp/scgi;
    keepalive_requests 100000;
    upstream php { server unix:$W/run/php-fpm.sock; }
    server {
        listen 127.0.0.1:$NGINX;
        root $ROOT/contrib/php/bench;
        location = /page.php {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass php;
        }
    }
}
CONF
start nginx "$W/logs/nginx.out" nginx -e "$W/logs/nginx-startup.log" -c "$W/nginx.conf" -p "$W" -g 'daemon off;'
also_log nginx "$W/logs/nginx-startup.log"
also_log nginx "$W/logs/nginx-error.log"
wait_ready nginx listening "127.0.0.1:$NGINX"

if [[ -n ${BENCH_UPGRADE:-} ]]; then
	# Each upgrade replaces faed's process: the one to stop at exit is
	# whichever /stats names last.
	stop_current() {
		local p
		p=$(curl -sf "http://127.0.0.1:$FAED_ADMIN/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])') || return 0
		kill "$p" 2>/dev/null || true
	}
	trap 'stop_current; cleanup' EXIT
	cat >"$W/check.lua" <<'LUA'
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status >= 200 and status < 300 and string.sub(body, 1, 2) ~= "OK" then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("BAD_BODIES %d\n", n))
end
LUA
	{
		echo "| page (faed client mode) | upgrades | requests | non-2xx | bad bodies | socket errors |"
		echo "|---|---|---|---|---|---|"
	} >"$W/upgrade.md"
	for mode in lean-unix lean-unix-persistent lean-tcp lean-tcp-persistent thrift-tcp; do
		wrk -t2 -c32 -d"$((2 * BENCH_UPGRADE + 2))s" -s "$W/check.lua" "http://127.0.0.1:$NGINX/page.php?p=faed&mode=$mode" >"$W/wrk-$mode.out" &
		wp=$!
		ups=0
		for ((i = 0; i < BENCH_UPGRADE; i++)); do
			sleep 2
			"$B/faed" -upgrade -admin "127.0.0.1:$FAED_ADMIN" >>"$W/upgrades.log" 2>&1 && ups=$((ups + 1))
		done
		wait "$wp"
		out=$(cat "$W/wrk-$mode.out")
		req=$(grep -oP '\d+(?= requests in)' <<<"$out")
		non2xx=$(grep -oP 'Non-2xx or 3xx responses: \K\d+' <<<"$out" || echo 0)
		bad=$(grep -oP 'BAD_BODIES \K\d+' <<<"$out")
		sock=$(grep -oP 'Socket errors: \K.*' <<<"$out" || echo none)
		echo "| faed $mode | $ups | $req | $non2xx | $bad | $sock |" >>"$W/upgrade.md"
	done
	cat "$W/upgrade.md"
	exit 0
fi

# The pid of every server, where bench-php.py reads them for its CPU columns.
for name in "${!pid_of[@]}"; do echo "${pid_of[$name]}" >"$W/run/$name.pid"; done
report python3 scripts/bench-php.py "$W" "$NGINX" "$REDIS" "$DREDIS"
if [[ -n ${BENCH_PAGES:-} ]]; then # a subset is a look, not the record
	echo "bench-php: BENCH_PAGES set: docs/BENCHMARKS.md left as it was; this run's section is $W/section.md" >&2
else
	publish php
fi
