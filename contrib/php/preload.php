<?php
// An opcache preload file for php-fpm: faed's client classes are compiled
// and linked once when php-fpm starts, so a page's `new` of the client
// costs nothing to load. In php-fpm's ini (php.ini or the pool):
//   opcache.preload = /path/to/faed/contrib/php/preload.php
//   opcache.preload_user = www-data   ; when the master runs as root
// Pages still require autoload.php (for classes not listed here).
require __DIR__ . '/autoload.php';

foreach ([
    \Faed\FaedClient::class,
    \Faed\Client::class,
    \fun\rpc\Context::class,
    \fun\rpc\TMemcacheData::class,
    \fun\rpc\TCouchbaseData::class,
    \fun\rpc\MysqlResult::class,
    \fun\rpc\MysqlMergeResult::class,
    \fun\rpc\TCacheMissed::class,
    \fun\rpc\TMongoNotFound::class,
    \fun\rpc\TMongoDegrade::class,
    \fun\rpc\TMongoReadOnly::class,
    \Thrift\Exception\TApplicationException::class,
    \Thrift\Exception\TTransportException::class,
    \Thrift\Exception\TProtocolException::class,
] as $class) {
    if (!class_exists($class)) {
        throw new \RuntimeException("faed preload: class $class not found");
    }
}
