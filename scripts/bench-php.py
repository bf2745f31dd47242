#!/usr/bin/env python3
"""The measuring half of scripts/bench-php.sh: runs every page with wrk in
alternating rounds and prints the bench:php section of docs/BENCHMARKS.md.

Usage: bench-php.py STATE_DIR NGINX_PORT REDIS_PORT DELAYED_REDIS_PORT (the
servers already running; their pid files in STATE_DIR/run and STATE_DIR/stack).

Per run: req/s, p50/p99, errors (non-2xx, socket errors, bodies that are not
OK), CPU µs per request of each process (utime+stime from /proc, a master
and its workers summed), and backend connections opened per request (Redis
total_connections_received, MariaDB Connections).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

from benchlib import cpu_s, fmt, machine, median, section, table, times

W, NGINX, REDIS_PORT, DELAYED_REDIS_PORT = sys.argv[1], *map(int, sys.argv[2:5])
D = os.environ.get("BENCH_D", "6s")
WARM = os.environ.get("BENCH_WARMUP", "1s")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DELAY = os.environ.get("BENCH_DELAY", "250us")
ONLY = [p.strip() for p in os.environ.get("BENCH_PAGES", "").split(",") if p.strip()]
STACK = os.path.join(W, "stack")

LEAN = ["lean-unix-persistent", "lean-tcp-persistent", "lean-unix", "lean-tcp"]
THRIFT = ["thrift-tcp", "thrift-unix-persistent"]
RECOMMENDED = "lean-unix-persistent"


def pages():
    """(label, query, set): set "plain" or "delay"."""
    out = [("alone", "p=alone", "plain"), ("direct", "p=direct", "plain"),
           ("direct-persistent", "p=direct-persistent", "plain")]
    for m in LEAN + THRIFT:
        out += [(f"faed {m}", f"p=faed&mode={m}", "plain"),
                (f"faed {m} cached", f"p=faed&mode={m}&cache=1", "plain")]
    for m in LEAN + THRIFT:
        out.append((f"noop2 {m}", f"p=noop2&mode={m}", "plain"))
    out += [("redis-direct", "p=redis-direct", "plain"),
            ("redis-direct-persistent", "p=redis-direct-persistent", "plain"),
            ("redis-twemproxy", "p=redis-twemproxy", "plain")]
    for m in LEAN + THRIFT:
        out.append((f"redis-faed {m}", f"p=redis-faed&mode={m}", "plain"))
    if DELAY:
        out += [("direct", "p=direct&net=delay", "delay"),
                ("direct-persistent", "p=direct-persistent&net=delay", "delay")]
        for m in LEAN:
            out += [(f"faed {m}", f"p=faed&mode={m}&net=delay", "delay"),
                    (f"faed {m} cached", f"p=faed&mode={m}&cache=1&net=delay", "delay")]
        out += [("redis-direct", "p=redis-direct&net=delay", "delay"),
                ("redis-twemproxy", "p=redis-twemproxy&net=delay", "delay"),
                (f"redis-faed {RECOMMENDED}", f"p=redis-faed&mode={RECOMMENDED}&net=delay", "delay")]
    return [p for p in out if not ONLY or p[0] in ONLY]


def pid(name):
    for path in (os.path.join(W, "run", name + ".pid"), os.path.join(STACK, name + ".pid")):
        if os.path.exists(path):
            return int(open(path).read().split()[0])
    return None


PROCS = {  # name in the tables -> (pid file, count its workers too)
    "faed": ("faed", False), "php-fpm": ("php-fpm", True), "nginx": ("nginx", True),
    "mariadb": ("mysql", False), "redis": ("redis1", False), "twemproxy": ("twemproxy", False),
    "faed (delay)": ("faed-delay", False), "twemproxy (delay)": ("twemproxy-delay", False),
    "linkdelay": ("linkdelay", False),
}


def cpu():
    out = {}
    for name, (file, workers) in PROCS.items():
        p = pid(file)
        if p is None:
            continue
        out[name] = cpu_s(p, workers)
    return out


def redis_conns():
    out = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "info", "stats"], capture_output=True, text=True).stdout
    return int(re.search(r"total_connections_received:(\d+)", out).group(1))


def mysql_conns():
    out = subprocess.run(["mariadb", "--no-defaults", "-uroot", f"--socket={STACK}/mysql/mysqld.sock", "-N", "-e",
                          "SHOW GLOBAL STATUS LIKE 'Connections'"], capture_output=True, text=True).stdout
    return int(out.split()[1])


LUA = """
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  -- other statuses are wrk's own "Non-2xx" count; this counts the rest
  if status >= 200 and status < 300 and string.sub(body, 1, 2) ~= "OK" then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("BAD_BODIES %d\\n", n))
end
"""


def ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, conns, duration, lua):
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{duration}", "--latency", "-s", lua, url],
                         capture_output=True, text=True).stdout
    r = {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
         "req_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "bad_bodies": int(re.search(r"BAD_BODIES (\d+)", out).group(1))}
    for q in ("50", "99"):
        m = re.search(q + r"%\s+([\d.]+)(us|ms|s)", out)
        r[f"p{q}_ms"] = ms(*m.groups()) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return r


def measure(label, query, net, lua):
    url = f"http://127.0.0.1:{NGINX}/page.php?{query}"
    conns = 8 if net == "delay" else 32
    wrk(url, conns, WARM, lua)
    c0, r0, m0 = cpu(), redis_conns(), mysql_conns()
    r = wrk(url, conns, D, lua)
    c1, r1, m1 = cpu(), redis_conns(), mysql_conns()
    n = max(r["requests"], 1)
    r.update(label=label, net=net, conns=conns,
             cpu_us={k: (c1[k] - c0[k]) * 1e6 / n for k in c1 if k in c0},
             redis_conns=(r1 - r0 - 1) / n,  # the second INFO's own connection
             mysql_conns=(m1 - m0 - 1) / n)
    r["errors"] = r["non2xx"] + r["socket_errors"] + r["bad_bodies"]
    return r


def rtt_us(port, n=500):
    """Median round trip of a Redis PING on one connection to port."""
    import socket
    sock = socket.create_connection(("127.0.0.1", port))
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        sock.sendall(b"PING\r\n")
        while not sock.recv(64).endswith(b"\r\n"):
            pass
        samples.append((time.perf_counter() - t) * 1e6)
    sock.close()
    return median(samples)


def run():
    lua = os.path.join(W, "check.lua")
    open(lua, "w").write(LUA)
    ps = pages()
    results = []
    for rnd in range(1, ROUNDS + 1):
        for label, query, net in ps:
            print(f"round {rnd}/{ROUNDS}: {label} ({net})", file=sys.stderr)
            r = measure(label, query, net, lua)
            r["round"] = rnd
            results.append(r)
            with open(os.path.join(W, "results.jsonl"), "a") as f:
                f.write(json.dumps(r) + "\n")
    return results


def facts():
    fpm = [l.strip() for l in open(os.path.join(W, "php-fpm.modules"))]
    return {
        # what php-fpm itself loads, with the flags the script starts it with
        "php": fpm[0].split(" (")[0] if fpm else "?",
        "opcache": "on" if "Zend OPcache" in fpm else "off",
        "accel": "loaded" if "thrift_protocol" in fpm else "not loaded",
    }


def page_table(rows, base, cpu_cols):
    head = ["page", "req/s", "× direct", "p50 ms", "p99 ms", "errors", "redis conns/req", "mysql conns/req"]
    return table(head + [f"{c} µs/req" for c in cpu_cols], [
        [r["label"], fmt(r["req_s"]), times(r["req_s"], base), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2),
         r["errors_all"], f"{r['redis_conns']:.2f}", f"{r['mysql_conns']:.2f}"]
        + [fmt(r["cpu_us"].get(c)) for c in cpu_cols] for r in rows])


def summarize(results, rtt, calls):
    by = {}
    for r in results:
        by.setdefault((r["net"], r["label"]), []).append(r)
    med = {}
    for k, rs in by.items():
        m = dict(median(rs, key=lambda r: r["req_s"]))
        m["errors_all"] = sum(x["errors"] for x in rs)
        med[k] = m
    f = facts()
    out = [f"""## PHP pages: through faed vs direct

Command: `make bench-php` (`scripts/bench-php.sh`; BENCH_D={D} BENCH_ROUNDS={ROUNDS}
BENCH_WARMUP={WARM} BENCH_DELAY={DELAY or 'off'}). Machine: {machine()}.
{f['php']} (opcache {f['opcache']}, faed's client preloaded with contrib/php/preload.php;
Debian's thrift_protocol accelerator {f['accel']}).

nginx (2 workers) → php-fpm (pm static, 8 workers, unix socket) → the page
(`contrib/php/bench/page.php`), loaded by `wrk -t2 -c32` with a Lua check that
counts every body that is not `OK`; Redis, MariaDB (both started by
`scripts/backends.sh`), faed, twemproxy, nginx, php-fpm and wrk all on this one
machine, on loopback. Each page reads a random one of 10,000 keys: a Redis GET
and a MariaDB primary-key SELECT (Redis-only pages: the GET), and prints OK only
when the values are right. Pages run in {ROUNDS} alternating rounds of {D}; each
row is the median round by req/s, errors are summed over all rounds. CPU µs per
request is utime+stime of each process (a master and its workers summed) over
the run divided by requests; connections per request are Redis
`total_connections_received` and MariaDB `Connections` over the run.

Client modes: `lean` is the client `FaedClient::connect()` returns
(`Faed\\Client`), `thrift` the generated FunServantClient on php-thrift
(TBufferedTransport, accelerated binary protocol when loaded); `unix` or `tcp`;
`-persistent` keeps the socket for the worker's next request, otherwise a
connection per request. `{RECOMMENDED}` is the recommended deployment.
`cached` pages pass a cacheKey to my_query; every id is put in faed's query
cache before the runs, so they are query-cache hits.
"""]
    plain = [med[k] for k in sorted(med, key=lambda k: list(med).index(k)) if k[0] == "plain"]
    if ("plain", "direct") in med:
        base = med[("plain", "direct")]["req_s"]
        full = [r for r in plain if not r["label"].startswith("redis-")]
        out.append("### Redis GET + MySQL SELECT\n\n" + page_table(full, base, ["faed", "php-fpm", "mariadb", "redis", "nginx"]))
    if ("plain", "redis-direct") in med:
        rbase = med[("plain", "redis-direct")]["req_s"]
        twem = med.get(("plain", "redis-twemproxy"), {}).get("req_s")
        rows = [r for r in plain if r["label"].startswith("redis-")]
        t = page_table(rows, rbase, ["faed", "twemproxy", "php-fpm", "redis", "nginx"]).replace("× direct", "× redis-direct")
        if twem:
            t += "\n\n" + table(["page", "× twemproxy"],
                                [[r["label"], times(r["req_s"], twem)] for r in rows if "faed" in r["label"]])
        out.append("### Redis only (one GET) vs twemproxy\n\n" + t)
    delayed = [med[k] for k in med if k[0] == "delay"]
    if delayed and ("delay", "direct") in med:
        d = med[("delay", "direct")]
        cpu_cols = ["php-fpm", "faed (delay)", "linkdelay"]
        rows = []
        for r in delayed:
            ref = med[("delay", "redis-direct")] if r["label"].startswith("redis-") and ("delay", "redis-direct") in med else d
            rows.append([r["label"], f"{r['req_s']:.0f}", fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2),
                         times(r["p50_ms"], ref["p50_ms"]), r["errors_all"]] + [fmt(r["cpu_us"].get(c)) for c in cpu_cols])
        delayed_table = table(["page", "req/s", "p50 ms", "p99 ms", "p50 × direct", "errors"]
                              + [f"{c} µs/req" for c in cpu_cols], rows)
        out.append(f"""### Backends on other hosts: {DELAY} each way on every backend link

Every link to Redis and MariaDB (from PHP, faed and twemproxy) goes through
Toxiproxy (`contrib/linkdelay`, a microsecond latency toxic) with {DELAY} each
way; `wrk -t2 -c8`, one client per php-fpm worker. Measured Redis PING round
trip on one connection: direct {rtt['direct']:.0f} µs, through the delayed link
{rtt['delay']:.0f} µs. "p50 × direct" compares with `direct` (Redis-only pages
with `redis-direct`). The proxy runs on the same two cores: each connection
through it costs linkdelay's CPU (its column), which a real network would not
take from this host, so pages that connect per request are slowed by more
than the delay.

""" + delayed_table)
    if calls:
        out.append(percall_table(calls))
    return section("php", "\n\n".join(out) + "\n")


# PHP's own cost per call, in a php-cli loop over one persistent unix
# socket to faed (contrib/php/bench/percall.php), for each client.
PERCALL = [("lean", "noop"), ("lean", "rd_get"), ("thrift", "noop"), ("thrift", "rd_get"),
           ("thrift-pure", "rd_get")]
SOCKET_CALLS = ("sendto", "recvfrom", "write", "read", "poll", "select", "pselect6", "ppoll")


def percall(addr):
    """Median of 3 runs of each client and call (getrusage), and the socket
    system calls per call counted by strace over a run of its own."""
    out = []
    script = "contrib/php/bench/percall.php"
    for client, call in PERCALL:
        runs = []
        for _ in range(3):
            r = subprocess.run(["php", script, addr, client, call, "20000"], capture_output=True, text=True)
            runs.append(json.loads(r.stdout))
        m = median(runs, key=lambda r: r["user_us"])
        n, trace = 5000, os.path.join(W, "percall.strace")
        subprocess.run(["strace", "-f", "-c", "-o", trace, "php", script, addr, client, call, str(n)],
                       capture_output=True)
        counts = {}
        for line in open(trace):
            f = line.split()
            if len(f) >= 5 and f[-1] in SOCKET_CALLS:
                counts[f[-1]] = int(f[3])
        total = n + 1001  # the run's calls, its warm-up and its setup call
        m["syscalls"] = ", ".join(f"{k} {v / total:.2f}" for k, v in sorted(counts.items()) if v / total >= 0.05)
        out.append(m)
    return out


def percall_table(rows):
    t = table(["client", "call", "user µs/call", "system µs/call", "wall µs/call", "socket syscalls per call"],
              [[r["client"], r["call"], f"{r['user_us']:.1f}", f"{r['sys_us']:.1f}", f"{r['wall_us']:.1f}", r["syscalls"]]
               for r in rows])
    return ("""### PHP's CPU per call (php-cli loop)

`php contrib/php/bench/percall.php unix://…/faed.sock CLIENT CALL 20000`: one
persistent unix socket, getrusage around the loop (median of 3 runs), and
strace's count of socket system calls over a separate run. `lean` is the
client FaedClient::connect() returns; `thrift` the generated client with the
thrift_protocol accelerator; `thrift-pure` without it. `rd_get` is rd_call
GET of a 100-byte value.

""" + t)


if __name__ == "__main__":
    # SIGTERM (bench-php.sh's cleanup) as an exception: subprocess.run then
    # kills the wrk it is waiting for instead of leaving it running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rtt = {"direct": rtt_us(REDIS_PORT)}
    if DELAY:
        rtt["delay"] = rtt_us(DELAYED_REDIS_PORT)
    calls = [] if ONLY else percall("unix://" + os.path.join(W, "run", "faed.sock"))
    results = run()
    print(summarize(results, rtt, calls))
