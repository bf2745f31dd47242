#!/usr/bin/env bash
# Runs every Fuzz* target of the module for $FUZZTIME each (go test allows
# one fuzz target per invocation). The budget is a count of executions
# (10000x), not a duration: Go 1.26's fuzz coordinator can report a
# spurious "context deadline exceeded" when a duration runs out while a
# starved worker is mid-input (go.dev/issue/75804, fixed in Go 1.27), and a
# count runs the same inputs on a fast machine or a loaded one.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10000x}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "fuzz $pkg $target ($FUZZTIME)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" >/tmp/faed-fuzz.$$.log 2>&1 || { cat /tmp/faed-fuzz.$$.log; rm -f /tmp/faed-fuzz.$$.log; exit 1; }
	done
done
rm -f /tmp/faed-fuzz.$$.log
