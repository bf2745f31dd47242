# faed: see README.md. Every target works on a fresh Debian machine with Go.
GO       ?= go
FUZZTIME ?= 10000x

.PHONY: run run-dev test test-faults unit fuzz vet build idl bench bench-local bench-backends bench-mysql bench-cluster bench-php backends-up backends-down cluster-up cluster-down clean

## run: faed on its embedded defaults (127.0.0.1:9001, admin 127.0.0.1:9101)
run:
	$(GO) run ./cmd/faed

## backends-up / backends-down: the dev stack (real servers on loopback,
## state in var/backends, addresses in var/backends.env)
backends-up:
	@scripts/backends.sh up

backends-down:
	@scripts/backends.sh down

## run-dev: the dev stack, then faed with etc/faed.dev.toml
run-dev: backends-up
	set -a && . var/backends.env && set +a && $(GO) run ./cmd/faed -conf etc/faed.dev.toml

## cluster-up / cluster-down: three faed nodes on the dev stack,
## 127.0.0.1:9011-9013 (admin :9111-9113)
cluster-up:
	@scripts/cluster.sh up

cluster-down:
	@scripts/cluster.sh down

## test: everything CI runs; installs missing Debian packages first
test: deps vet unit fuzz

deps:
	@scripts/deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^idl/'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go' | grep -v '^idl/'); exit 1; }

unit:
	$(GO) test -race -count=1 ./...

## test-faults: the fault suite (TestFault* in cmd/faed: backends killed,
## paused, links reset, clients gone, faed killed and paused, abuse, a
## cluster in network namespaces), the write and lock checkers at full size
## (50 clients, 20,000 writes) and ten million ids through clock steps,
## then the table in docs/RELIABILITY.md. `make test` runs the same tests
## at their short sizes (in `go test ./...`) without the table;
## FAED_FAULTS_FULL=1 also holds each fault 5 s instead of 1.5 s.
test-faults: deps
	@mkdir -p var/faults && rm -f var/faults/results.jsonl
	FAED_FAULTS_OUT=$(CURDIR)/var/faults/results.jsonl $(GO) test -count=1 -v -run 'TestFault' ./cmd/faed
	FAED_CHECKER_FULL=1 $(GO) test -count=1 -v -run 'TestWriteChecker|TestFencedLockChecker' ./cmd/faed
	FAED_FAULTS_FULL=1 $(GO) test -count=1 -v -run 'TestManyIDsWithClockStepsAndRestarts' ./idgen
	scripts/faults-report.py var/faults/results.jsonl

## fuzz: each fuzz target for FUZZTIME (an execution count), on top of its committed corpus
fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

build:
	$(GO) build -o bin/ ./cmd/...

## idl: regenerate Go and PHP code from idl/fun.thrift (Debian thrift 0.17)
idl:
	scripts/idl.sh

## bench: faed vs bare TSimpleServer vs raw echo, written to docs/BENCHMARKS.md
bench:
	scripts/bench.sh

## bench-local: ids, local cache and locks, written to docs/BENCHMARKS.md
bench-local:
	scripts/bench-local.sh

## bench-backends: rd_call and mc_get through faed vs direct clients
bench-backends:
	scripts/bench-backends.sh

## bench-mysql: my_query through faed (cache hit, miss) vs go-sql-driver direct
bench-mysql:
	scripts/bench-mysql.sh

## bench-cluster: a keyed call served by its owner vs forwarded from another node
bench-cluster:
	scripts/bench-cluster.sh

## bench-php: PHP pages (nginx + php-fpm + wrk) through faed vs direct and
## twemproxy, then with delayed backend links; docs/BENCHMARKS.md
bench-php:
	scripts/bench-php.sh

clean:
	rm -rf bin var
