<?php
// mc_* and cb_* against the pool "default": php memcache.php ADDR [framed] [compact] [pure]
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use fun\rpc\TCacheMissed;
use fun\rpc\TMemcacheData;
use Thrift\Exception\TApplicationException;

$c = faed_client($argv);
$ctx = FaedClient::context('php-memcache');
$k = 'php:' . bin2hex(random_bytes(6));
$data = fn (string $d, int $f = 0) => new TMemcacheData(['data' => $d, 'flags' => $f]);

check('mc_get miss throws TCacheMissed', function () use ($c, $ctx, $k) {
    try {
        $c->mc_get($ctx, 'default', $k);
    } catch (TCacheMissed $e) {
        return true;
    }
    return 'no exception';
});
check('mc_set then mc_get keeps data and flags', function () use ($c, $ctx, $k, $data) {
    $c->mc_set($ctx, 'default', $k, $data("v\x00", 9), 0);
    $got = $c->mc_get($ctx, 'default', $k);
    return ($got->data === "v\x00" && $got->flags === 9) ?: [$got->data, $got->flags];
});
check('mc_add on an existing key is false', fn () => $c->mc_add($ctx, 'default', $k, $data('x'), 0) === false);
check('mc_add on a new key is true', fn () => $c->mc_add($ctx, 'default', "$k:new", $data('x'), 0) === true);
check('mc_increment on a missing key is 0', fn () => $c->mc_increment($ctx, 'default', "$k:n", 5) === 0);
check('mc_increment counts up and down', function () use ($c, $ctx, $k, $data) {
    $c->mc_set($ctx, 'default', "$k:n", $data('10'), 0);
    return [$c->mc_increment($ctx, 'default', "$k:n", 5), $c->mc_increment($ctx, 'default', "$k:n", -3)] === [15, 12];
});
check('mc_increment of a non-number is an error', fn () => expect_app_exception(
    fn () => $c->mc_increment($ctx, 'default', $k, 1), TApplicationException::INTERNAL_ERROR, 'mc_increment'));
check('mc_delete is true, then false', fn () => [$c->mc_delete($ctx, 'default', $k), $c->mc_delete($ctx, 'default', $k)] === [true, false]);
check('a key with a space is an error', fn () => expect_app_exception(
    fn () => $c->mc_get($ctx, 'default', 'bad key'), TApplicationException::INTERNAL_ERROR, 'invalid memcache key'));
check('a 251-byte key is an error', fn () => expect_app_exception(
    fn () => $c->mc_set($ctx, 'default', str_repeat('k', 251), $data('x'), 0), TApplicationException::INTERNAL_ERROR, 'invalid memcache key'));

$b = "cb:$k";
check('cb_get miss is {missed: true}', fn () => $c->cb_get($ctx, 'default', $b)->missed === true);
check('cb_add, cb_append, cb_get', function () use ($c, $ctx, $b) {
    $added = $c->cb_add($ctx, 'default', $b, 'abc', 0);
    $again = $c->cb_add($ctx, 'default', $b, 'zzz', 0);
    $c->cb_append($ctx, 'default', $b, 'def');
    $got = $c->cb_get($ctx, 'default', $b);
    return ($added === true && $again === false && $got->missed === false && $got->data === 'abcdef') ?: [$added, $again, $got];
});
check('cb_gets returns only the keys found', function () use ($c, $ctx, $b) {
    $c->cb_set($ctx, 'default', "$b:2", 'two', 0);
    $got = $c->cb_gets($ctx, 'default', [$b, "$b:2", "$b:missing"]);
    ksort($got);
    return $got === [$b => 'abcdef', "$b:2" => 'two'] ?: $got;
});
check('cb_del is true, then false', fn () => [$c->cb_del($ctx, 'default', $b), $c->cb_del($ctx, 'default', $b)] === [true, false]);
check('cb_append on a missing key is an error', fn () => expect_app_exception(
    fn () => $c->cb_append($ctx, 'default', $b, 'x'), TApplicationException::INTERNAL_ERROR, 'not stored'));
check('connection usable after errors', fn () => $c->noop(4) === 4);

finish();
