<?php
namespace Faed;

use Thrift\Exception\TException;
use Thrift\Exception\TTransportException;
use Thrift\Transport\TSocket;

/**
 * TSocket over a unix socket. php-thrift's TSocket refuses a port <= 0 and
 * would append ":port" to a unix:// path, so open() is redone here; reads,
 * writes and timeouts are TSocket's.
 */
final class UnixSocket extends TSocket
{
    private string $path;

    public function __construct(string $path, bool $persist = false)
    {
        parent::__construct('unix://' . $path, 1, $persist);
        $this->path = $path;
    }

    public function open()
    {
        if ($this->isOpen()) {
            throw new TTransportException('Socket already connected', TTransportException::ALREADY_OPEN);
        }
        $timeout = $this->sendTimeoutSec_ + ($this->sendTimeoutUsec_ / 1000000);
        $open = $this->persist_ ? 'pfsockopen' : 'fsockopen';
        $this->handle_ = @$open('unix://' . $this->path, -1, $errno, $errstr, $timeout);
        if ($this->handle_ === false) {
            throw new TException("UnixSocket: could not connect to {$this->path} ($errstr [$errno])");
        }
    }
}
