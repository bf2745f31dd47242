<?php
// my_* against the fixture of scripts/mysql-fixture.sql:
// php mysql.php ADDR [framed] [compact] [pure]
require __DIR__ . '/harness.php';

use Faed\FaedClient;
use Thrift\Exception\TApplicationException;

$c = faed_client($argv);
$other = faed_client($argv); // a second connection, to look from outside a transaction
$ctx = FaedClient::context('php-mysql');
$tag = 'php:' . bin2hex(random_bytes(6));
$doc = random_int(1000000, 1000000000000);

check('query on a shard, NULL as "NULL"', function () use ($c, $ctx) {
    $r = $c->my_query($ctx, 'UserShard', 'UserInfo', 5, 'SELECT name, power, gold FROM UserInfo WHERE uid = ?', ['5'], '');
    return $r->cols === ['name', 'power', 'gold'] && $r->rows === [['u5', '5', 'NULL']] ?: [$r->cols, $r->rows];
});
check('exec returns rowsAffected and lastInsertId', function () use ($c, $ctx, $tag) {
    $r = $c->my_query($ctx, 'Global', 'Event', 0, 'INSERT INTO Event (what) VALUES (?)', [$tag], '');
    return $r->rowsAffected === 1 && $r->lastInsertId > 0 && $r->rows === [] ?: $r;
});
check('argv stays data', function () use ($c, $ctx) {
    $r = $c->my_query($ctx, 'Global', 'Counter', 0, 'SELECT COUNT(*) FROM Counter WHERE name = ?', ["x' OR '1'='1"], '');
    return $r->rows === [['0']] ?: $r->rows;
});
check('hintId 0 on a sharded pool is an error', fn () => expect_app_exception(
    fn () => $c->my_query($ctx, 'UserShard', 'UserInfo', 0, 'SELECT 1', [], ''), TApplicationException::INTERNAL_ERROR, 'hintId is 0'));
check('a locked entity is an error', fn () => expect_app_exception(
    fn () => $c->my_query($ctx, 'UserShard', 'UserInfo', 999999, 'SELECT 1', [], ''), TApplicationException::INTERNAL_ERROR, 'entity being locked'));
check('cached until evicted', function () use ($c, $ctx, $tag) {
    $c->my_query($ctx, 'Global', 'Counter', 0, 'INSERT INTO Counter VALUES (?, 1)', [$tag], '');
    $read = fn () => $c->my_query($ctx, 'Global', 'Counter', 0, 'SELECT n FROM Counter WHERE name = ?', [$tag], "c:$tag")->rows[0][0];
    $first = $read();
    $c->my_query($ctx, 'Global', 'Counter', 0, 'UPDATE Counter SET n = 2 WHERE name = ?', [$tag], '');
    $stale = $read();
    $c->my_evict($ctx, "c:$tag");
    $fresh = $read();
    $c->my_query($ctx, 'Global', 'Counter', 0, 'UPDATE Counter SET n = 3 WHERE name = ?', [$tag], "c:$tag");
    return [$first, $stale, $fresh, $read()] === ['1', '1', '2', '3'] ?: [$first, $stale, $fresh];
});
check('a transaction is invisible until COMMIT', function () use ($c, $other, $ctx, $tag) {
    $count = fn ($cl) => $cl->my_query($ctx, 'Global', 'Event', 0, 'SELECT COUNT(*) FROM Event WHERE what = ?', ["tx:$tag"], '')->rows[0][0];
    $c->my_query($ctx, 'Global', 'Event', 0, 'BEGIN', [], '');
    $c->my_query($ctx, 'Global', 'Event', 0, 'INSERT INTO Event (what) VALUES (?)', ["tx:$tag"], '');
    $inside = $count($c);
    $outside = $count($other);
    $c->my_query($ctx, 'Global', 'Event', 0, 'COMMIT', [], '');
    return [$inside, $outside, $count($other)] === ['1', '0', '1'] ?: [$inside, $outside];
});
check('ROLLBACK undoes', function () use ($c, $ctx, $tag) {
    $c->my_query($ctx, 'Global', 'Event', 0, 'START TRANSACTION', [], '');
    $c->my_query($ctx, 'Global', 'Event', 0, 'DELETE FROM Event WHERE what = ?', ["tx:$tag"], '');
    $c->my_query($ctx, 'Global', 'Event', 0, 'rollback', [], '');
    $r = $c->my_query($ctx, 'Global', 'Event', 0, 'SELECT COUNT(*) FROM Event WHERE what = ?', ["tx:$tag"], '');
    return $r->rows === [['1']] ?: $r->rows;
});
check('my_bulk_exec sums rowsAffected', function () use ($c, $ctx, $tag) {
    $n = $c->my_bulk_exec($ctx, ['Global', 'Global'], ['Counter', 'Counter'], [0, 0],
        ['INSERT INTO Counter VALUES (?, 1)', 'UPDATE Counter SET n = n + 1 WHERE name IN (?, ?)'],
        [["b:$tag"], ["b:$tag", $tag]], ['', '']);
    return $n === 3 ?: $n;
});
check('my_bulk_exec with unequal lists is an error', fn () => expect_app_exception(
    fn () => $c->my_bulk_exec($ctx, ['Global'], [], [0], ['SELECT 1'], [[]], ['']), TApplicationException::INTERNAL_ERROR, 'equal lengths'));
check('my_query_shards in shard order', function () use ($c, $ctx) {
    $r = $c->my_query_shards($ctx, 'UserShard', 'UserInfo', 'SELECT uid FROM UserInfo WHERE uid <= ? ORDER BY uid', ['4']);
    return $r->rows === [['1'], ['3'], ['2'], ['4']] ?: $r->rows;
});
check('my_merge merges recursively', function () use ($c, $ctx, $doc) {
    $c->my_query($ctx, 'Global', 'Doc', 0, 'INSERT INTO Doc VALUES (?, ?)', [(string) $doc, '{"a":{"x":1},"b":[1]}'], '');
    $r = $c->my_merge($ctx, 'Global', 'Doc', 0, "id = $doc", "doc:$doc", 'data', '{"a":{"y":2},"b":[2]}');
    return $r->ok && json_decode($r->newVal, true) === ['a' => ['x' => 1, 'y' => 2], 'b' => [2]] ?: $r;
});
check('my_merge with no row is not ok', function () use ($c, $ctx) {
    $r = $c->my_merge($ctx, 'Global', 'Doc', 0, 'id = -1', '', 'data', '{"a":1}');
    return $r->ok === false ?: $r;
});
check('my_merge of a non-object is an error', fn () => expect_app_exception(
    fn () => $c->my_merge($ctx, 'Global', 'Doc', 0, "id = $doc", '', 'data', '[1]'), TApplicationException::INTERNAL_ERROR, 'not a JSON object'));
check('connection usable after errors', fn () => $c->noop(9) === 9);

finish();
