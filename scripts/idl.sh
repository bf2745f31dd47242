#!/usr/bin/env bash
# Regenerates the Go (idl/fun/rpc) and PHP (contrib/php/gen-php) code from
# idl/fun.thrift with Debian's thrift 0.17, and the lean PHP client
# (contrib/php/src/Client.php) with scripts/phpclient.py.
#   scripts/idl.sh          regenerate in place
#   scripts/idl.sh -check   generate into a temp dir and fail, naming the
#                           files, if the committed code differs
set -euo pipefail
cd "$(dirname "$0")/.."

generate() { # OUTDIR
	local out=$1
	mkdir -p "$out/go" "$out/php"
	thrift -r --gen go:package_prefix=github.com/faed/faed/idl/,skip_remote -out "$out/go" idl/fun.thrift
	thrift -r --gen php -out "$out/php" idl/fun.thrift
	python3 scripts/phpclient.py idl/fun.thrift "$out/Client.php"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"

if [[ ${1:-} == -check ]]; then
	status=0
	diff -r "$tmp/go/fun" idl/fun >/dev/null || { echo "idl/fun differs from a fresh generation:"; diff -rq "$tmp/go/fun" idl/fun; status=1; }
	diff -r "$tmp/php" contrib/php/gen-php >/dev/null || { echo "contrib/php/gen-php differs from a fresh generation:"; diff -rq "$tmp/php" contrib/php/gen-php; status=1; }
	diff "$tmp/Client.php" contrib/php/src/Client.php >/dev/null || { echo "contrib/php/src/Client.php differs from a fresh generation"; status=1; }
	exit $status
fi

rm -rf idl/fun contrib/php/gen-php
mkdir -p contrib/php
cp -r "$tmp/go/fun" idl/fun
cp -r "$tmp/php" contrib/php/gen-php
cp "$tmp/Client.php" contrib/php/src/Client.php
echo "regenerated idl/fun, contrib/php/gen-php and contrib/php/src/Client.php"
