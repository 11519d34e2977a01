# shutdownfuzz developer targets. CI runs `make test` (see .ci/run).
GO ?= go
FUZZTIME ?= 10s
CHAOS ?= 2m

.PHONY: test vet fmt fmt-check bench fuzz chaos build

build:
	$(GO) build -o shutdownfuzz ./cmd/shutdownfuzz

test: vet fmt-check
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w .

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run=NONE -bench=. -benchtime=2s ./chaos ./runtime
	$(GO) test -run=NONE -bench=. -benchtime=1x -count=3 ./exhaustive

# A short run of every fuzz target (go test -fuzz takes one target at a time).
# CI runs `make test`, which replays the corpus and the seeds; `make fuzz`
# with FUZZTIME=10s is the smoke run.
fuzz:
	$(GO) test -run=NONE -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./scenario
	$(GO) test -run=NONE -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./scenario
	@if [ -d fuzz ] && ls fuzz/*_test.go >/dev/null 2>&1; then \
		$(GO) test -run=NONE -fuzz='^FuzzShutdown$$' -fuzztime=$(FUZZTIME) ./fuzz; fi

# A two-minute exploration campaign over the whole library and all policies.
chaos:
	$(GO) run ./cmd/shutdownfuzz campaign -duration $(CHAOS) -policy all -out out/campaign
