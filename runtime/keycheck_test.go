package runtime_test

import (
	"os"
	"slices"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// TestKeyPositionsMatchCallers searches the library's scenarios under
// every policy with runtime.Callers checking each position the
// frame-pointer walk captures (runtime.SetKeyCheck): both must number the
// positions alike, so that the states are the same. With
// SHUTDOWNFUZZ_KEYCHECK_ALL=1 it also runs each scenario under every
// preset the library names.
func TestKeyPositionsMatchCallers(t *testing.T) {
	runtime.SetKeyCheck(true)
	defer runtime.SetKeyCheck(false)
	files, presets := libraryScenarios(t)
	all := os.Getenv("SHUTDOWNFUZZ_KEYCHECK_ALL") == "1"
	for i, s := range files {
		if raceEnabled && i%8 != 0 {
			continue // ten times slower: an eighth of the library
		}
		sets := [][]string{s.Presets}
		if all {
			sets = presets
		}
		for _, ps := range sets {
			s.Presets = ps
			for _, p := range scenario.Policies {
				if _, err := exhaustive.Explore(s, exhaustive.Options{Policy: p, MaxStates: 3000}); err != nil {
					t.Errorf("%s under %s, preset %v: %v", s.Name, p, ps, err)
				}
			}
		}
	}
}

// libraryScenarios parses scenarios/*.scn and scenarios/patterns/*.scn
// and returns them with the distinct preset lines they name.
func libraryScenarios(t *testing.T) ([]*scenario.Scenario, [][]string) {
	var out []*scenario.Scenario
	var presets [][]string
	for _, f := range testscn.Library(t) {
		s := f.Scenario
		out = append(out, s)
		if !slices.ContainsFunc(presets, func(p []string) bool { return slices.Equal(p, s.Presets) }) {
			presets = append(presets, s.Presets)
		}
	}
	if len(out) == 0 {
		t.Fatal("no library scenarios")
	}
	return out, presets
}
