<?php
// The ways a page can reach faed, by mode name: the bench's one place for
// them. Addresses come from php-fpm's environment (scripts/bench-php.sh).
require __DIR__ . '/../autoload.php';

use Faed\FaedClient;

/**
 * A connected client for $mode: CLIENT-NETWORK[-persistent]; $net '_DELAY'
 * for the faed whose backend links are delayed.
 */
function bench_client(string $mode, string $net): \fun\rpc\FunServantIf
{
    [$client, $network] = explode('-', $mode, 3) + [2 => ''];
    $addr = $network === 'unix' ? 'unix://' . getenv("FAED_UNIX$net") : getenv("FAED_TCP$net");
    $persistent = str_ends_with($mode, '-persistent');
    return match ($client) {
        'lean' => FaedClient::connect($addr, ['persistent' => $persistent]),
        'thrift' => FaedClient::connect($addr, ['thrift' => true, 'persistent' => $persistent]),
    };
}

/** Ends a page's use of the client: a per-request socket is closed. */
function bench_done(\fun\rpc\FunServantIf $c): void
{
    if ($c instanceof \Faed\Client) {
        $c->close(); // a persistent socket stays for the next request
    } // php-thrift's per-request TSocket closes when the request ends
}
