<?php
// Code written the way the older FunServant samples were, run unchanged
// through the client this project ships: php legacy.php ADDR
// (faed with the MySQL fixture and a memcache pool "default").
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use fun\rpc\Context;
use fun\rpc\TCacheMissed;
use fun\rpc\TMemcacheData;
use Thrift\Exception\TApplicationException;

// Older pages run with every error reported: the client must add none.
error_reporting(E_ALL);
$GLOBALS['notices'] = [];
set_error_handler(function (int $no, string $msg, string $file, int $line) {
    $GLOBALS['notices'][] = "$msg at $file:$line";
    return true;
});

$client = FaedClient::connect($argv[1]);
$ctx = new Context();
$ctx->rid = mt_rand(1, 1 << 30);
$ctx->reason = 'legacy';               // uid left unset, as older code did
$k = 'legacy:' . bin2hex(random_bytes(6));

check('mc_set with only data set, flags left unset', function () use ($client, $ctx, $k) {
    $v = new TMemcacheData();
    $v->data = 'hello';
    return $client->mc_set($ctx, 'default', $k, $v, 120) === true;
});
check('mc_get returns it with flags 0', function () use ($client, $ctx, $k) {
    $got = $client->mc_get($ctx, 'default', $k);
    return $got->data === 'hello' && $got->flags === 0 ?: [$got->data, $got->flags];
});
check('mc_get miss says "memcache: cache miss"', function () use ($client, $ctx, $k) {
    try {
        $client->mc_get($ctx, 'default', "$k:none");
    } catch (TCacheMissed $e) {
        return str_starts_with($e->getMessage(), 'memcache: cache miss') ?: $e->getMessage();
    }
    return 'no exception';
});
check('lc_get miss says "lcache missed: <key>"', function () use ($client, $ctx, $k) {
    try {
        $client->lc_get($ctx, "$k:none");
    } catch (TCacheMissed $e) {
        return $e->getMessage() === "lcache missed: $k:none" ?: $e->getMessage();
    }
    return 'no exception';
});
check('an invalid context says "Svt: invalid context"', function () use ($client) {
    $bad = new Context();
    $bad->reason = 'legacy';            // rid 0
    try {
        $client->ping($bad);
    } catch (TApplicationException $e) {
        return str_contains($e->getMessage(), 'Svt: invalid context') ?: $e->getMessage();
    }
    return 'no exception';
});
check('ping uptime is a Go duration below the second', function () use ($client, $ctx) {
    $pong = $client->ping($ctx);
    return preg_match('/uptime:([0-9]+[hm])*[0-9.]+(s|ms|µs|ns)$/', $pong) === 1 && str_contains($pong, '.') ?: $pong;
});
check('NULL for list arguments, in a transaction', function () use ($client, $ctx, $k) {
    $client->my_query($ctx, 'Global', 'Event', 0, 'BEGIN', NULL, '');
    $client->my_query($ctx, 'Global', 'Event', 0, 'INSERT INTO Event (what) VALUES (?)', array($k), '');
    $client->my_query($ctx, 'Global', 'Event', 0, 'COMMIT', NULL, '');
    $r = $client->my_query($ctx, 'Global', 'Event', 0, 'SELECT COUNT(*) FROM Event WHERE what = ?', array($k), '');
    return $r->rows === array(array('1')) ?: $r->rows;
});
check('NULL for a struct argument is an error for that call only', function () use ($client, $ctx, $k) {
    try {
        $client->mc_set($ctx, 'default', "$k:null", NULL, 0);
    } catch (TApplicationException $e) {
        return $client->noop(11) === 11;
    }
    return $client->noop(11) === 11; // stored as an empty value is fine too
});
check('the connection serves calls after all of that', fn () => $client->noop(12) === 12);
check('no notice, warning or deprecation from the client', fn () => $GLOBALS['notices'] === [] ?: $GLOBALS['notices']);

finish();
