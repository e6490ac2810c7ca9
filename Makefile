# Two commands do everything on a fresh machine: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CONFIGURATION ?= Debug
BENCH ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench build setup clean

## Install what is missing (Debian packages, npm peers), restore and build.
setup:
	@bash eng/setup.sh

build: setup
	dotnet build Avatar.sln -c $(CONFIGURATION) -nologo -v quiet -clp:NoSummary

## Start the whole topology (PostgreSQL, Redis, every service) and print where everything listens.
run: build
	dotnet run --project Avatar.AppHost -c $(CONFIGURATION) --no-build

## Run every test (unit, integration on real postgres/redis-server/processes).
test: build
	@bash eng/test.sh $(CONFIGURATION)

## Benchmarks: `make bench` for all groups, `make bench BENCH=redis` for one. Results: artifacts/bench/<group>.json.
bench: setup
	dotnet run -c Release --project bench/Avatar.Bench -- $(BENCH)

clean:
	dotnet clean Avatar.sln -nologo -v quiet
	rm -rf artifacts
