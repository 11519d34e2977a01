package fuzz

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/enginediff"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// FuzzEngines decodes its input as FuzzShutdown does and runs it under
// every policy on both engines of the controlled mode, the step function
// and the goroutine model, plain, as a NoStrike counterfactual and traced;
// it fails when their Results differ in any byte (docs/step-function.md,
// stage 4). The seeds are FuzzShutdown's: go test -fuzz=FuzzEngines ./fuzz.
func FuzzEngines(f *testing.F) {
	seeds, err := Seeds()
	if err != nil {
		f.Fatal(err)
	}
	for _, content := range seeds {
		data, err := UnmarshalCorpusFile(content)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := scenario.Decode(data)
		for _, p := range scenario.Policies {
			for _, cfg := range []runtime.Config{
				{Policy: p, MaxSteps: *stepsFlag},
				{Policy: p, MaxSteps: *stepsFlag, NoStrike: true},
				{Policy: p, MaxSteps: *stepsFlag, Trace: true},
			} {
				if _, d := enginediff.Diff(s, cfg); d != "" {
					t.Fatalf("policy %s nostrike %v trace %v: the engines differ:\n%s--- scenario ---\n%s", p, cfg.NoStrike, cfg.Trace, d, scenario.Print(s))
				}
			}
		}
	})
}
