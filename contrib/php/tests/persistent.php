<?php
// The lean client's persistent sockets are reused, never half-read:
// php persistent.php ADDR ADMIN_ADDR   (faed with the MySQL fixture)
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use Thrift\Exception\TApplicationException;
use Thrift\Exception\TTransportException;

[$addr, $admin] = array_slice($argv, 1, 2);
$ctx = FaedClient::context('php-persistent');
$tag = 'persist:' . bin2hex(random_bytes(6));
$accepted = fn () => json_decode(file_get_contents("http://$admin/stats"), true)['engine']['accepted'];
$connect = fn (int $timeoutMs = 5000) => FaedClient::connect($addr, ['timeout_ms' => $timeoutMs]);
$events = fn ($c) => $c->my_query($ctx, 'Global', 'Event', 0, 'SELECT COUNT(*) FROM Event WHERE what = ?', [$tag], '')->rows[0][0];

$c = $connect();
$c->noop(1);
$before = $accepted();

check('a later client reuses the socket', function () use ($connect, $accepted, $before, &$c) {
    $c = null; // the first client is gone, its socket stays
    $d = $connect();
    return $d->noop(2) === 2 && $d->noop(3) === 3 && $accepted() === $before ?: [$before, $accepted()];
});
check('an error reply keeps the socket', function () use ($connect, $accepted, $ctx, $before) {
    $d = $connect();
    $r = expect_app_exception(fn () => $d->my_query($ctx, 'nope', '', 1, 'SELECT 1', [], ''), TApplicationException::INTERNAL_ERROR, 'nope');
    return $r === true && $d->noop(4) === 4 && $accepted() === $before ?: [$r, $before, $accepted()];
});
check('two clients at once are two sessions', function () use ($connect, $accepted, $before) {
    $d = $connect();
    $e = $connect();
    return $d->noop(5) === 5 && $e->noop(6) === 6 && $accepted() === $before + 1 ?: [$before, $accepted()];
});
check('after a timeout the socket is dropped, the next call gets its own reply', function () use ($connect, $accepted, $ctx) {
    $d = $connect(100);
    try {
        $d->my_query($ctx, 'Global', '', 0, 'SELECT SLEEP(0.5)', [], '');
        return 'no timeout';
    } catch (TTransportException $e) {
        if ($e->getCode() !== TTransportException::TIMED_OUT) {
            return "code {$e->getCode()}: {$e->getMessage()}";
        }
    }
    $n = $accepted();
    $e = $connect();
    return $e->noop(7) === 7 && $e->ping($ctx) !== '' && $accepted() === $n + 1 ?: [$n, $accepted()];
});
check('a transaction left open is rolled back, not carried over', function () use ($connect, $ctx, $tag, $events) {
    $d = $connect();
    $d->my_query($ctx, 'Global', 'Event', 0, 'BEGIN', null, '');
    $d->my_query($ctx, 'Global', 'Event', 0, 'INSERT INTO Event (what) VALUES (?)', [$tag], '');
    $d = null; // the request forgot COMMIT
    $e = $connect();
    $e->my_query($ctx, 'Global', 'Event', 0, 'COMMIT', null, ''); // would commit a carried-over transaction
    usleep(100000); // faed rolls back once it sees the hang-up
    return $events($e) === '0' ?: $events($e);
});
check('a committed transaction keeps the socket', function () use ($connect, $accepted, $ctx, $tag, $events) {
    $d = $connect();
    $n = $accepted();
    $d->my_query($ctx, 'Global', 'Event', 0, 'START TRANSACTION', [], '');
    $d->my_query($ctx, 'Global', 'Event', 0, 'INSERT INTO Event (what) VALUES (?)', [$tag], '');
    $d->my_query($ctx, 'Global', 'Event', 0, 'COMMIT', [], '');
    $d = null;
    $e = $connect();
    return $events($e) === '1' && $accepted() === $n ?: [$events($e), $n, $accepted()];
});
check('close(true) ends a persistent socket', function () use ($connect, $accepted) {
    $d = $connect();
    $d->noop(8);
    $d->close(true);
    $n = $accepted();
    return $connect()->noop(9) === 9 && $accepted() === $n + 1 ?: [$n, $accepted()];
});

finish();
