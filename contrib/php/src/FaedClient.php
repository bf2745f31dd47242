<?php
namespace Faed;

use fun\rpc\Context;
use fun\rpc\FunServantClient;
use Thrift\Protocol\TBinaryProtocol;
use Thrift\Protocol\TBinaryProtocolAccelerated;
use Thrift\Protocol\TCompactProtocol;
use Thrift\Transport\TBufferedTransport;
use Thrift\Transport\TFramedTransport;

/**
 * Opens a FunServant client to the local faed.
 *
 *   $faed = FaedClient::connect('127.0.0.1:9001');            // or 'unix:///run/faed.sock'
 *   $id = $faed->id_next(FaedClient::context('signup', $uid));
 *
 * Options: framed (bool), compact (bool), timeout_ms (send and receive,
 * default 750), persistent (bool, one socket per php-fpm worker; dropped on
 * any transport error by close()), accelerated (bool, default: use the
 * thrift_protocol extension when loaded).
 */
final class FaedClient
{
    /** @var array<string,mixed> */
    private const DEFAULTS = [
        'framed' => false,
        'compact' => false,
        'timeout_ms' => 750,
        'persistent' => false,
        'accelerated' => null,
    ];

    public static function connect(string $addr, array $opts = []): FunServantClient
    {
        $o = $opts + self::DEFAULTS;
        $socket = self::socket($addr, (bool)$o['persistent']);
        $socket->setSendTimeout((int)$o['timeout_ms']);
        $socket->setRecvTimeout((int)$o['timeout_ms']);
        $transport = $o['framed'] ? new TFramedTransport($socket) : new TBufferedTransport($socket, 4096, 4096);
        $transport->open();
        if ($o['compact']) {
            $protocol = new TCompactProtocol($transport);
        } else {
            $accel = $o['accelerated'] ?? function_exists('thrift_protocol_write_binary');
            $protocol = $accel ? new TBinaryProtocolAccelerated($transport, false, true)
                               : new TBinaryProtocol($transport, false, true);
        }
        return new FunServantClient($protocol);
    }

    /** A Context with a random non-zero rid, as every call but noop needs. */
    public static function context(string $reason, int $uid = 0): Context
    {
        return new Context(['rid' => random_int(1, PHP_INT_MAX), 'reason' => $reason, 'uid' => $uid]);
    }

    private static function socket(string $addr, bool $persistent): \Thrift\Transport\TSocket
    {
        if (strncmp($addr, 'unix://', 7) === 0) {
            return new UnixSocket(substr($addr, 7), $persistent);
        }
        $colon = strrpos($addr, ':');
        if ($colon === false) {
            throw new \InvalidArgumentException("faed address $addr: want host:port or unix:///path");
        }
        return new \Thrift\Transport\TSocket(substr($addr, 0, $colon), (int)substr($addr, $colon + 1), $persistent);
    }
}
