# Two commands do everything on a fresh machine: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CONFIGURATION ?= Debug
BENCH ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench build setup clean model eval publish

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

## Write Aspire's manifest (aspire-manifest.json) and, from it, the Kubernetes manifests (aspirate-output/, committed; its *.secret.env files are not).
publish: build
	@bash eng/publish.sh $(CONFIGURATION) aspire-manifest.json aspirate-output

## Benchmarks: `make bench` for all groups (redis, grpc, a2f, chat), `make bench BENCH=redis` for one. Results: artifacts/bench/<group>.json.
bench: setup
	@# dotnet-gcdump: the load soak's live-heap figures. On a cold tool cache the SDK credits one tool's commands to the
	@# other and fails the restore; the second run succeeds (dotnet/sdk#53783).
	dotnet tool restore -v quiet >/dev/null 2>&1 || dotnet tool restore -v quiet >/dev/null
	dotnet build -c Release -nologo -v quiet bench/Avatar.Bench
	dotnet run -c Release --no-build --project bench/Avatar.Bench -- $(BENCH)

## Train the lip-sync model on espeak-ng, flite and festival speech into Avatar.A2F.Inference/Models/lipsync.onnx, then score it voice by voice.
model: setup
	dotnet run -c Release --project Avatar.A2F.Inference -- model train --output=$(CURDIR)/Avatar.A2F.Inference/Models/lipsync.onnx

## Score the shipped model voice by voice and the reserved kal voice, then leave each engine out (train without it, score on it), beside a loudness-only peer.
eval: setup
	dotnet run -c Release --project Avatar.A2F.Inference -- model evaluate --model=$(CURDIR)/Avatar.A2F.Inference/Models/lipsync.onnx

clean:
	dotnet clean Avatar.sln -nologo -v quiet
	rm -rf artifacts
