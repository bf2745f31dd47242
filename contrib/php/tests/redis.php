<?php
// rd_call against the pool "default": php redis.php ADDR [framed] [compact] [pure]
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use Thrift\Exception\TApplicationException;

$c = faed_client($argv);
$ctx = FaedClient::context('php-redis');
$k = 'php:' . bin2hex(random_bytes(6));

check('GET missing key is "key not exists"', fn () => expect_app_exception(
    fn () => $c->rd_call($ctx, 'GET', 'default', [$k]), TApplicationException::INTERNAL_ERROR, 'key not exists'));
check('SET replies OK', fn () => $c->rd_call($ctx, 'SET', 'default', [$k, "bin\x00ary"]) === 'OK');
check('GET returns the bytes', fn () => $c->rd_call($ctx, 'GET', 'default', [$k]) === "bin\x00ary");
check('INCR returns a decimal', fn () => $c->rd_call($ctx, 'INCRBY', 'default', ["$k:n", '7']) === '7');
check('array is a JSON list of strings', function () use ($c, $ctx, $k) {
    $c->rd_call($ctx, 'RPUSH', 'default', ["$k:l", 'a', 'b']);
    return json_decode($c->rd_call($ctx, 'LRANGE', 'default', ["$k:l", '0', '-1'])) === ['a', 'b'];
});
check('nil reply is empty', fn () => $c->rd_call($ctx, 'HGET', 'default', ["$k:h", 'f']) === '');
check('error reply is an error', fn () => expect_app_exception(
    fn () => $c->rd_call($ctx, 'INCR', 'default', [$k]), TApplicationException::INTERNAL_ERROR, 'not an integer'));
check('FLUSHALL is refused', fn () => expect_app_exception(
    fn () => $c->rd_call($ctx, 'FLUSHALL', 'default', [$k]), TApplicationException::INTERNAL_ERROR, 'refused'));
check('empty keysAndArgs is an error', fn () => expect_app_exception(
    fn () => $c->rd_call($ctx, 'GET', 'default', []), TApplicationException::INTERNAL_ERROR, 'keysAndArgs is empty'));
check('unknown pool is an error', fn () => expect_app_exception(
    fn () => $c->rd_call($ctx, 'GET', 'nope', [$k]), TApplicationException::INTERNAL_ERROR, 'nope'));
check('connection usable after errors', fn () => $c->noop(3) === 3);

finish();
