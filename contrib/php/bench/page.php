<?php
// The pages of make bench-php (scripts/bench-php.sh): page.php?p=PAGE
// [&mode=MODE][&cache=1]. Each reads a random one of 10,000 keys and
// prints OK only when every value is the right one; anything else is BAD.
//   alone                      PHP alone: the ceiling
//   direct, direct-persistent  phpredis GET + PDO SELECT by primary key
//   faed                       rd_call GET + my_query through faed (cache=1:
//                              with a cacheKey; the script fills faed's query
//                              cache first, so a hit)
//   noop2                      two noop calls to faed: the client's floor
//   redis-direct, redis-direct-persistent, redis-twemproxy, redis-faed
//                              one GET only
// net=delay reaches the backends (and a second faed) over delayed links.
$page = $_GET['p'] ?? '';
$net = ($_GET['net'] ?? '') === 'delay' ? '_DELAY' : ''; // net=delay: the delayed links
$i = mt_rand(0, 9999);
$want = "v$i";

function direct_redis(string $addr, bool $persistent): \Redis
{
    [$host, $port] = explode(':', $addr);
    $r = new \Redis();
    $persistent ? $r->pconnect($host, (int)$port, 0.75) : $r->connect($host, (int)$port, 0.75);
    return $r;
}

function direct_mysql(string $addr, bool $persistent): \PDO
{
    [$host, $port] = explode(':', $addr);
    return new \PDO("mysql:host=$host;port=$port;dbname=faed_bench", 'faed', 'faed',
        [\PDO::ATTR_PERSISTENT => $persistent, \PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
}

$got = [];
switch ($page) {
    case 'alone':
        $got = [$want];
        break;
    case 'direct':
    case 'direct-persistent':
        $persistent = $page === 'direct-persistent';
        $r = direct_redis(getenv("BENCH_REDIS$net"), $persistent);
        $got[] = $r->get("bench:k:$i");
        $st = direct_mysql(getenv("BENCH_MYSQL$net"), $persistent)->prepare('SELECT v FROM kv WHERE id = ?');
        $st->execute([$i]);
        $got[] = $st->fetchColumn();
        if (!$persistent) {
            $r->close();
        }
        break;
    case 'redis-direct':
    case 'redis-direct-persistent':
    case 'redis-twemproxy':
        $addr = getenv(($page === 'redis-twemproxy' ? 'BENCH_TWEMPROXY' : 'BENCH_REDIS') . $net);
        $r = direct_redis($addr, $page === 'redis-direct-persistent');
        $got[] = $r->get("bench:k:$i");
        if ($page !== 'redis-direct-persistent') {
            $r->close();
        }
        break;
    case 'faed':
    case 'noop2':
    case 'redis-faed':
        require __DIR__ . '/client.php';
        $mode = $_GET['mode'] ?? '';
        $c = bench_client($mode, $net);
        $ctx = \Faed\FaedClient::context('bench');
        if ($page === 'noop2') {
            $got[] = $c->noop($i) === $i && $c->noop(-$i) === -$i ? $want : 'noop';
        } else {
            $got[] = $c->rd_call($ctx, 'GET', 'default', ["bench:k:$i"]);
        }
        if ($page === 'faed') {
            $r = $c->my_query($ctx, 'Bench', '', 0, 'SELECT v FROM kv WHERE id = ?', [(string)$i],
                empty($_GET['cache']) ? '' : "kv:$i");
            $got[] = $r->rows[0][0] ?? null;
        }
        bench_done($c);
        break;
    default:
        http_response_code(404);
        exit("BAD unknown page\n");
}
foreach ($got as $v) {
    if ($v !== $want) {
        exit('BAD ' . var_export($got, true) . " for $want\n");
    }
}
echo "OK\n";
