// Package libfuzzer holds FuzzShutdown in the form go-118-fuzz-build
// (github.com/AdamKorcz/go-118-fuzz-build) turns into a libFuzzer target,
// for ClusterFuzzLite and OSS-Fuzz (.clusterfuzzlite/build.sh runs
// compile_native_go_fuzzer on this package) and for `make libfuzzer`.
//
// The tool reads no _test.go files and needs the target alone in its
// package, so the target lives here, in a non-test file, and calls the
// same fuzz.CheckPolicies as `go test -fuzz=FuzzShutdown ./fuzz`, with the
// default options (every policy, the contracts, DefaultSteps). A broken
// contract fails the test case, which libFuzzer saves as a crash file;
// `shutdownfuzz import -libfuzzer CRASH` turns it into a corpus crasher.
// A libFuzzer binary has no go test flags: SFZ_STRICT=1 and
// SFZ_WANT=KIND[/OP] in the environment stand for -sfz.strict and
// -sfz.want, to hunt witnesses (import those crashes with -strict).
//
// Nothing in the shutdownfuzz binary imports this package.
package libfuzzer

import (
	"os"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

// FuzzShutdown checks one fuzz input under every policy's contract.
func FuzzShutdown(f *testing.F) { f.Fuzz(target) }

var opts = optionsFrom(os.Getenv)

// optionsFrom reads SFZ_STRICT and SFZ_WANT.
func optionsFrom(getenv func(string) string) verdict.Options {
	return verdict.Options{Strict: getenv("SFZ_STRICT") == "1", Want: getenv("SFZ_WANT"), MaxSteps: fuzz.DefaultSteps}
}

// target fails a test case on a broken contract. An inconclusive verdict
// is not a failure libFuzzer could save, and not a pass either: the
// engine has no "skip", so it is dropped here and counted by go test runs.
func target(t *testing.T, data []byte) {
	s := scenario.Decode(data)
	if fail, _ := fuzz.CheckPolicies(s, scenario.Policies, opts); fail != nil {
		t.Fatalf("%v\nto re-run: shutdownfuzz import -libfuzzer -corpus DIR CRASH-FILE, then shutdownfuzz run -policy %s on the crasher it writes", fail, fail.Policy)
	}
}
