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

# ---- CI at scale: workflow lint, libFuzzer build (issue 11) ----
# Tools go into .tools/, one directory per pinned version, so that
# installing is idempotent and a version bump installs afresh.
ACTIONLINT_VERSION ?= v1.7.12
ACTIONLINT := $(CURDIR)/.tools/actionlint-$(ACTIONLINT_VERSION)/actionlint
WORKFLOWS := .github/workflows/ci.yml .github/workflows/nightly.yml

.PHONY: lint actionlint libfuzzer

# actionlint on both workflows, and go vet.
lint: actionlint vet

actionlint: $(ACTIONLINT)
	$(ACTIONLINT) $(WORKFLOWS)

$(ACTIONLINT):
	GOBIN=$(dir $(ACTIONLINT)) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# Build FuzzShutdown as a libFuzzer binary (go-118-fuzz-build + clang, as
# ClusterFuzzLite does) and run it LIBFUZZER_TIME seconds (default 30) on
# the seed corpus. See .ci/libfuzzer.
libfuzzer:
	./.ci/libfuzzer
