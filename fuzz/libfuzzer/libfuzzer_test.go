package libfuzzer

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The target passes on every seed, as the libFuzzer build must on its
// framed seed corpus. (This file does not name the target: the build
// scripts find the target's file by its name.)
func TestTargetOnSeeds(t *testing.T) {
	seeds, err := fuzz.Seeds()
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for name, content := range seeds {
		data, err := fuzz.UnmarshalCorpusFile(content)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) { target(t, data) })
	}
}
