# shutdownfuzz developer targets. CI runs `make test` (see .ci/run).
GO ?= go
FUZZTIME ?= 10s
# FuzzShutdown's time in `make fuzz` (FUZZTIME unless given; CI gives 60s)
# and in `make fuzz-long`.
SHUTDOWN_FUZZTIME ?= $(FUZZTIME)
FUZZLONG ?= 30m
CHAOS ?= 2m

.PHONY: test vet fmt fmt-check bench bench-large step-check wild-check fuzz fuzz-long chaos build conform-env conform-env-dbg conform conform-quick pep788-probes chaos-doc

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
	$(GO) test -run=NONE -bench=. -benchtime=5x -count=3 ./exhaustive

# The exhaustive search of over a million states, with one worker and with
# two (minutes each); make bench leaves it out.
bench-large:
	$(GO) test ./exhaustive -run=NONE -bench=BenchmarkExhaustiveLarge -benchtime=1x -timeout=60m -sfz.large

# The step function against the goroutine model in full (docs/exhaustive.md):
# every library scenario under every boundary preset and policy, and 1,000
# generated scenarios; about 15 minutes on two cores. make test compares
# fewer.
step-check:
	$(GO) test -count=1 -run='^TestStepFunction' -timeout=60m ./exhaustive -sfz.step-presets -sfz.step-scenarios=1000

# Wild mode against the exhaustive search (docs/exhaustive.md): every
# library scenario under every policy, WILD_RUNS wild runs (100 unless
# given; 5-10 minutes on two cores), each outcome within the proved set;
# -v prints the counts and the inconclusive runs. make test runs 3 per cell.
WILD_RUNS ?= 100
wild-check:
	$(GO) test -count=1 -v -run='^TestWildWithinProvedSets$$' -timeout=60m ./scenarios -sfz.wild-runs=$(WILD_RUNS)

# A short run of every fuzz target (go test -fuzz takes one target at a time):
# FuzzParse, FuzzDecode and FuzzEngines (the step function against the
# goroutine model, docs/step-function.md) for FUZZTIME each, FuzzShutdown for
# SHUTDOWN_FUZZTIME (FUZZTIME unless given). CI runs `make test`, which
# replays the corpus and the seeds, then
# `make fuzz FUZZTIME=10s SHUTDOWN_FUZZTIME=60s` as the smoke run.
# A failing input stops make with an error; go test writes it under
# testdata/fuzz/ in the target's package. scripts/fuzz-target.sh runs each:
# it passes Go 1.26's spurious "context deadline exceeded" at the end of
# -fuzztime when no input was written (golang/go#75804).
fuzz:
	GO=$(GO) scripts/fuzz-target.sh FuzzParse scenario $(FUZZTIME)
	GO=$(GO) scripts/fuzz-target.sh FuzzDecode scenario $(FUZZTIME)
	GO=$(GO) scripts/fuzz-target.sh FuzzEngines fuzz $(FUZZTIME)
	GO=$(GO) scripts/fuzz-target.sh FuzzShutdown fuzz $(SHUTDOWN_FUZZTIME)

# FuzzShutdown alone for FUZZLONG (30 minutes unless given), as the nightly
# fuzz job runs it; fails on any failure, the input in
# fuzz/testdata/fuzz/FuzzShutdown/.
fuzz-long:
	GO=$(GO) scripts/fuzz-target.sh FuzzShutdown fuzz $(FUZZLONG)

# A two-minute exploration campaign over the whole library and all policies.
chaos:
	$(GO) run ./cmd/shutdownfuzz campaign -duration $(CHAOS) -policy all -out out/campaign

# ---- CI at scale: workflow lint, libFuzzer build ----
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

# Conformance against real CPython (docs/conformance.md).
# conform-env installs python3.11-dev, g++ and debootstrap with apt, and builds
# a cached Debian sid root with CPython 3.13, 3.14 and 3.15 (needs root; a
# root built before 3.15 gains python3.15-dev in place; a second run returns
# at once). conform-env-dbg adds the debug builds (python3.11-dbg on the host,
# python3.13/3.14/3.15-dbg in the root): opt-in, as it adds about 50 s and
# 700 MB. conform runs every library scenario on every release
# scenario.Releases marks Conform (conform's default -python: 3.11, 3.13,
# 3.14 and 3.15), the -compare runs under the delay shim of `shutdownfuzz
# chaos` (-shim), and regenerates docs/conformance.md; conform-quick runs six
# scenarios three times on 3.11, 3.14 and 3.15 and fails if an interpreter is
# missing.
CONFORM_RUNS ?= 5
CONFORM_QUICK = raii-decref-unwind catchall-glibc noexcept-unwind-abort stack-waiter-terminate \
	hang-holds-lock gh-123940-join-hung-daemon-314

conform-env:
	bash scripts/conform-env.sh

conform-env-dbg:
	bash scripts/conform-env.sh --dbg

conform: conform-env
	$(GO) run ./cmd/shutdownfuzz conform -runs $(CONFORM_RUNS) -compare -shim -markdown -o docs/conformance.md -force

conform-quick: conform-env
	$(GO) run ./cmd/shutdownfuzz conform -python 3.11,3.14,3.15 -runs 3 -timeout 5s $(CONFORM_QUICK)

# The five PEP 788 observations on real CPython 3.15 (and 3.14 for the last):
# builds conform/testdata/pep788/probe.c in the sid root (cached), runs each
# probe PEP788_RUNS times under a watchdog and prints one line per
# observation (docs/conformance.md). About 12 s per run; needs root.
PEP788_RUNS ?= 5
pep788-probes: conform-env
	/usr/bin/python3.11 conform/testdata/pep788/probes.py -runs $(PEP788_RUNS)

# Chaos on real CPython (docs/chaos.md): the examples under the delay shim
# on every installed interpreter, CHAOS_RUNS runs per interpreter with
# delays and as many without; regenerates the tables of docs/chaos.md and
# fails if the clean example is not clean. Needs root, as conform-env.
CHAOS_RUNS ?= 200
chaos-doc: conform-env
	CHAOS_RUNS=$(CHAOS_RUNS) bash scripts/chaos-doc.sh
