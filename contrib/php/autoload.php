<?php
// Autoloader for faed's PHP client: the generated fun\rpc\ classes, the
// Faed\ helpers, and Apache Thrift's PHP library. Debian's php-thrift puts
// the Thrift\ classes directly under /usr/lib/php/ (not under Thrift/);
// a composer install puts them under vendor/apache/thrift/lib/php/lib/.
spl_autoload_register(function (string $class): void {
    $maps = [
        'fun\\rpc\\' => [__DIR__ . '/gen-php/fun/rpc/'],
        'Faed\\' => [__DIR__ . '/src/'],
        'Thrift\\' => array_filter([
            getenv('THRIFT_PHP_LIB') ?: null,
            '/usr/lib/php/',
            __DIR__ . '/vendor/apache/thrift/lib/php/lib/',
        ]),
    ];
    foreach ($maps as $prefix => $dirs) {
        if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
            continue;
        }
        $rel = str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        foreach ($dirs as $dir) {
            if (is_file($dir . $rel)) {
                require $dir . $rel;
                return;
            }
        }
        return;
    }
});
