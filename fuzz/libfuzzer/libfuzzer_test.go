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

func TestOptionsFromEnvironment(t *testing.T) {
	env := map[string]string{"SFZ_STRICT": "1", "SFZ_WANT": "deadlock/lock"}
	o := optionsFrom(func(k string) string { return env[k] })
	if !o.Strict || o.Want != "deadlock/lock" || o.MaxSteps != fuzz.DefaultSteps {
		t.Errorf("%+v", o)
	}
	if o := optionsFrom(func(string) string { return "" }); o.Strict || o.Want != "" {
		t.Errorf("empty environment: %+v", o)
	}
}
