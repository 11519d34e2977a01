#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script (runs in the image of Dockerfile,
# from $SRC/shutdownfuzz): FuzzShutdown, in fuzz/libfuzzer, as the libFuzzer
# binary $OUT/fuzz_shutdown, and its seed corpus. `make libfuzzer` does the
# same build on a developer machine (.ci/libfuzzer).

# go-118-fuzz-build's testing package must be in go.mod (pinned
# pseudo-version, the one .ci/libfuzzer uses).
GO118_VERSION=v0.0.0-20250520111509-a70c2aa677fa
go get "github.com/AdamKorcz/go-118-fuzz-build/testing@$GO118_VERSION"

# The seed corpus first, before the build rewrites any source: the library
# seeds, framed as the libFuzzer harness reads its input.
seeds=$(mktemp -d)
go run ./fuzz/internal/libfuzzerseeds fuzz/testdata/fuzz/FuzzShutdown "$seeds"
(cd "$seeds" && zip -q -r "$OUT/fuzz_shutdown_seed_corpus.zip" .)

compile_native_go_fuzzer github.com/shutdownfuzz/shutdownfuzz/fuzz/libfuzzer FuzzShutdown fuzz_shutdown
