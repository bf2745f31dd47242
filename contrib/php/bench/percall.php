<?php
// PHP's own CPU per call, user and system apart (getrusage), in a php-cli
// loop over one connection: php percall.php ADDR CLIENT CALL [N]
//   CLIENT: lean | thrift (the generated client, accelerated when the
//           thrift_protocol extension is loaded) | thrift-pure
//   CALL:   noop | rd_get (rd_call GET on pool "default", key percall:k)
//           | lc_get
// Prints one JSON line: calls, user_us and sys_us per call, and the client.
error_reporting(E_ALL & ~E_DEPRECATED);
require __DIR__ . '/../autoload.php';

use Faed\FaedClient;

[$addr, $client, $call] = array_slice($argv, 1, 3);
$n = (int)($argv[4] ?? 20000);
$opts = match ($client) {
    'lean' => ['persistent' => true],
    'thrift' => ['thrift' => true, 'persistent' => true],
    'thrift-pure' => ['thrift' => true, 'persistent' => true, 'accelerated' => false],
};
$c = FaedClient::connect($addr, $opts);
$ctx = FaedClient::context('percall');
$one = match ($call) {
    'noop' => fn () => $c->noop(7),
    'rd_get' => fn () => $c->rd_call($ctx, 'GET', 'default', ['percall:k']),
    'lc_get' => fn () => $c->lc_get($ctx, 'percall:k'),
};
if ($call === 'rd_get') {
    $c->rd_call($ctx, 'SET', 'default', ['percall:k', str_repeat('v', 100)]);
} elseif ($call === 'lc_get') {
    $c->lc_set($ctx, 'percall:k', str_repeat('v', 100));
}
for ($i = 0; $i < 1000; $i++) { // warm-up
    $one();
}
$r0 = getrusage();
$t0 = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    $one();
}
$t1 = hrtime(true);
$r1 = getrusage();
$us = fn ($r, $k) => $r["ru_{$k}.tv_sec"] * 1e6 + $r["ru_{$k}.tv_usec"];
echo json_encode([
    'client' => $client, 'call' => $call, 'calls' => $n,
    'user_us' => round(($us($r1, 'utime') - $us($r0, 'utime')) / $n, 2),
    'sys_us' => round(($us($r1, 'stime') - $us($r0, 'stime')) / $n, 2),
    'wall_us' => round(($t1 - $t0) / 1e3 / $n, 2),
    'accelerated' => extension_loaded('thrift_protocol'),
]), "\n";
