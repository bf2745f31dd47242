#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those missing, plus any
# named as arguments (scripts/deps.sh nginx php-fpm installs those too), and
# enables Debian's thrift_protocol PHP extension for the PHP version that is
# installed (Debian 12 ships its ini only for PHP 8.1). Quiet when
# everything is there.
set -euo pipefail

PACKAGES=(thrift-compiler php-cli php-thrift redis-server memcached mariadb-server mariadb-client zookeeper chromium "$@")

sudo=()
if ((EUID != 0)); then
	sudo=(sudo)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
	echo "installing: ${missing[*]}"
	if ((EUID != 0)) && ! command -v sudo >/dev/null; then
		echo "deps: need root or sudo to install ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The accelerator: its .so is built for the installed PHP, its ini is not.
ver=$(php -r 'echo PHP_MAJOR_VERSION . "." . PHP_MINOR_VERSION;')
ini=/etc/php/$ver/mods-available/thrift_protocol.ini
if [[ ! -f $ini ]]; then
	src=$(ls /etc/php/*/mods-available/thrift_protocol.ini 2>/dev/null | head -n 1 || true)
	if [[ -n $src ]]; then
		"${sudo[@]}" cp "$src" "$ini"
	fi
fi
if [[ -f $ini ]]; then # every SAPI installed (cli, fpm); idempotent
	"${sudo[@]}" phpenmod -v "$ver" thrift_protocol
fi
