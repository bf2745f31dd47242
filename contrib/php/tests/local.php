<?php
// id_*, lc_* and lock/unlock: php local.php ADDR [framed] [compact] [pure]
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use fun\rpc\Context;
use fun\rpc\TCacheMissed;
use Thrift\Exception\TApplicationException;

$c = faed_client($argv);
$ctx = FaedClient::context('php-local');

check('id_next increases', function () use ($c, $ctx) {
    $a = $c->id_next($ctx);
    $b = $c->id_next($ctx);
    return ($a > 0 && $b > $a) ?: [$a, $b];
});

check('id_next_with_tag and id_decode', function () use ($c, $ctx) {
    $before = (int)(microtime(true) * 1000);
    $id = $c->id_next_with_tag($ctx, 17);
    $d = $c->id_decode(new Context(), $id); // id_decode needs no valid context
    $ok = count($d) === 4 && $d[1] === 17 && $d[0] >= $before - 5 && $d[0] <= $before + 5000 && $d[3] >= 0 && $d[3] < 4096;
    return $ok ?: $d;
});

foreach ([-1, 32] as $tag) {
    check("tag $tag is an error", fn () => expect_app_exception(
        fn () => $c->id_next_with_tag($ctx, $tag), TApplicationException::INTERNAL_ERROR, 'tag'));
}

$key = 'php:' . bin2hex(random_bytes(6));
$val = "bin\x00\xff" . str_repeat('v', 1000);
check('lc_get miss throws TCacheMissed', function () use ($c, $ctx, $key) {
    try {
        $c->lc_get($ctx, $key);
    } catch (TCacheMissed $e) {
        return true;
    }
    return 'no exception';
});
check('lc_set then lc_get returns the bytes', fn () => $c->lc_set($ctx, $key, $val) === true && $c->lc_get($ctx, $key) === $val);
check('lc_del removes', function () use ($c, $ctx, $key) {
    $c->lc_del($ctx, $key);
    try {
        $c->lc_get($ctx, $key);
    } catch (TCacheMissed $e) {
        return true;
    }
    return 'still there';
});

$lock = 'php-lock:' . bin2hex(random_bytes(6));
$owner = new Context(['rid' => 1001, 'reason' => 'php-local']);
$other = new Context(['rid' => 1002, 'reason' => 'php-local']);
check('lock acquires', fn () => $c->lock($owner, 'test', $lock) === true);
check('lock held by another is false', fn () => $c->lock($other, 'test', $lock) === false);
check('unlock by another request is refused', fn () => expect_app_exception(
    fn () => $c->unlock($other, 'test', $lock), TApplicationException::INTERNAL_ERROR, 'another request'));
check('unlock by the owner releases', function () use ($c, $owner, $other, $lock) {
    $c->unlock($owner, 'test', $lock);
    return $c->lock($other, 'test', $lock) === true;
});
check('connection usable after errors', fn () => $c->noop(5) === 5);

finish();
