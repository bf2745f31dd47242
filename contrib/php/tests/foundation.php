<?php
// ping, noop, Context handling and errors: php foundation.php ADDR [framed] [compact] [pure]
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use fun\rpc\Context;
use Thrift\Exception\TApplicationException;

$c = faed_client($argv);

check('ping', function () use ($c) {
    $pong = $c->ping(FaedClient::context('php-test'));
    return (str_starts_with($pong, 'ver:') && str_contains($pong, 'myid:') && str_contains($pong, 'uptime:')) ?: $pong;
});

foreach ([0, 1, -1, 2147483647, -2147483648] as $x) {
    check("noop($x)", fn () => $c->noop($x) === $x ?: $c->noop($x));
}

check('context without uid is accepted', function () use ($c) {
    $ctx = new Context(['rid' => 42, 'reason' => 'php-test']); // uid stays null: not written
    return str_starts_with($c->ping($ctx), 'ver:');
});

check('rid 0 is invalid context', fn () => expect_app_exception(
    fn () => $c->ping(new Context(['rid' => 0, 'reason' => 'php-test'])),
    TApplicationException::INTERNAL_ERROR, 'invalid context'));

check('empty reason is invalid context', fn () => expect_app_exception(
    fn () => $c->ping(new Context(['rid' => 5, 'reason' => ''])),
    TApplicationException::INTERNAL_ERROR, 'invalid context'));

check('a part not built names itself', fn () => expect_app_exception(
    fn () => $c->mc_get(FaedClient::context('php-test'), 'default', 'k'),
    TApplicationException::INTERNAL_ERROR, 'memcache'));

check('connection usable after errors', fn () => $c->noop(77) === 77);

finish();
