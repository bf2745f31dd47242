<?php
// Shared by the PHP test scripts: argument parsing, checks and a summary.
// Usage of a script: php SCRIPT ADDR [lean [persistent] | [framed] [compact] [pure]]
// lean: the default client (Faed\Client); otherwise the generated Thrift
// client on php-thrift's transports.
error_reporting(E_ALL & ~E_DEPRECATED); // php-thrift 0.17 on PHP 8.2 is noisy
require __DIR__ . '/../autoload.php';

use Faed\FaedClient;
use Thrift\Exception\TApplicationException;

$GLOBALS['failures'] = 0;

function faed_client(array $argv): \fun\rpc\FunServantIf
{
    $flags = array_slice($argv, 2);
    if (in_array('lean', $flags, true)) {
        return FaedClient::connect($argv[1], ['persistent' => in_array('persistent', $flags, true), 'timeout_ms' => 5000]);
    }
    return FaedClient::connect($argv[1], [
        'thrift' => true,
        'framed' => in_array('framed', $flags, true),
        'compact' => in_array('compact', $flags, true),
        'accelerated' => in_array('pure', $flags, true) ? false : null,
        'timeout_ms' => 5000,
    ]);
}

function check(string $name, callable $fn): void
{
    try {
        $detail = $fn();
        if ($detail === true || $detail === null) {
            echo "ok $name\n";
            return;
        }
        echo "FAIL $name: " . var_export($detail, true) . "\n";
    } catch (\Throwable $e) {
        echo "FAIL $name: " . get_class($e) . ': ' . $e->getMessage() . "\n";
    }
    $GLOBALS['failures']++;
}

/** Runs $fn, which must throw a TApplicationException of $type whose message contains $needle. */
function expect_app_exception(callable $fn, int $type, string $needle)
{
    try {
        $fn();
    } catch (TApplicationException $e) {
        if ($e->getCode() === $type && str_contains($e->getMessage(), $needle)) {
            return true;
        }
        return "TApplicationException code {$e->getCode()}: {$e->getMessage()}";
    }
    return 'no exception';
}

function finish(): void
{
    exit($GLOBALS['failures'] > 0 ? 1 : 0);
}
