<?php
namespace Faed;

use fun\rpc\Context;
use fun\rpc\FunServantClient;
use fun\rpc\FunServantIf;
use Thrift\Protocol\TBinaryProtocol;
use Thrift\Protocol\TBinaryProtocolAccelerated;
use Thrift\Protocol\TCompactProtocol;
use Thrift\Transport\TBufferedTransport;
use Thrift\Transport\TFramedTransport;

/**
 * Opens a FunServant client to the local faed.
 *
 *   $faed = FaedClient::connect('unix:///run/faed/faed.sock');   // or '127.0.0.1:9001'
 *   $id = $faed->id_next(FaedClient::context('signup', $uid));
 *
 * By default this is the lean client (Faed\Client): framed binary protocol,
 * a persistent socket per php-fpm worker, a few microseconds of PHP per
 * call. Options:
 *   persistent (bool, default true): keep the socket for the worker's next
 *     request; dropped after any error, timeout or a request that ended
 *     mid-call, never reused half-read.
 *   timeout_ms (int, default 750): connect, send and receive timeout.
 *   thrift (bool, default false): the Thrift-generated FunServantClient on
 *     php-thrift's transports instead, for the wire choices below; implied
 *     by any of them:
 *   framed (bool, default false), compact (bool, default false),
 *   accelerated (bool, default: when the thrift_protocol extension is
 *     loaded). With thrift, persistent defaults to false.
 */
final class FaedClient
{
    /** @var array<string,mixed> */
    private const THRIFT_DEFAULTS = [
        'framed' => false,
        'compact' => false,
        'timeout_ms' => 750,
        'persistent' => false,
        'accelerated' => null,
    ];

    public static function connect(string $addr, array $opts = []): FunServantIf
    {
        if (!empty($opts['thrift']) || isset($opts['framed']) || isset($opts['compact']) || isset($opts['accelerated'])) {
            return self::thrift($addr, $opts);
        }
        [$target, $port] = self::split($addr);
        return new Client($target, $port, (bool)($opts['persistent'] ?? true), (int)($opts['timeout_ms'] ?? Client::TIMEOUT_MS));
    }

    /** The generated client on php-thrift's socket, transport and protocol. */
    private static function thrift(string $addr, array $opts): FunServantClient
    {
        $o = $opts + self::THRIFT_DEFAULTS;
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

    /** 'unix:///path' or 'host:port' as a stream target and port (-1 for unix). */
    private static function split(string $addr): array
    {
        if (strncmp($addr, 'unix://', 7) === 0) {
            return [$addr, -1];
        }
        $colon = strrpos($addr, ':');
        if ($colon === false) {
            throw new \InvalidArgumentException("faed address $addr: want host:port or unix:///path");
        }
        return ['tcp://' . substr($addr, 0, $colon), (int)substr($addr, $colon + 1)];
    }

    /** A Context with a random non-zero rid, as every call but noop needs. */
    public static function context(string $reason, int $uid = 0): Context
    {
        return new Context(['rid' => random_int(1, PHP_INT_MAX), 'reason' => $reason, 'uid' => $uid]);
    }

    private static function socket(string $addr, bool $persistent): \Thrift\Transport\TSocket
    {
        [$target, $port] = self::split($addr);
        if ($port < 0) {
            return new UnixSocket(substr($addr, 7), $persistent);
        }
        return new \Thrift\Transport\TSocket(substr($target, 6), $port, $persistent);
    }
}
