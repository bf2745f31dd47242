<?php
// php examples/ping.php [ADDR]   (ADDR: host:port or unix:///path; default 127.0.0.1:9001)
require __DIR__ . '/../autoload.php';

use Faed\FaedClient;

$faed = FaedClient::connect($argv[1] ?? '127.0.0.1:9001');
echo $faed->ping(FaedClient::context('example')), "\n";
