package fuzz

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

//go:generate go run ./internal/genseeds testdata/fuzz/FuzzShutdown

// Seeds returns the FuzzShutdown seed corpus generated from the built-in
// library: file name to go test fuzz v1 content, one file per library
// scenario that fits the fuzz encoding.
func Seeds() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, name := range scenarios.Names() {
		src, file, _ := scenarios.Source(name)
		s, err := scenario.Parse(file, src)
		if err != nil {
			return nil, err
		}
		data, err := scenario.Encode(seedable(s))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		content := MarshalCorpusFile(data)
		out[CorpusFileName(content)] = content
	}
	return out, nil
}

// maxSeedName is the fuzz decoder's bound on a scenario name.
const maxSeedName = 64

// seedable fits a library scenario into the fuzz encoding, which bounds
// the name and draws only the releases where a fact changes: a longer name
// is cut, and a release the decoder does not draw (a pattern's exact
// cpython-3.12.13, say) becomes a drawn release of the same branch with
// the same facts (runtime.Facts), else the branch's latest. A seed is only
// where fuzzing starts; the library file itself is unchanged.
func seedable(s *scenario.Scenario) *scenario.Scenario {
	c := scenario.Clone(s)
	if len(c.Name) > maxSeedName {
		c.Name = c.Name[:maxSeedName]
	}
	drawn := scenario.FuzzPresets()
	for i, p := range c.Presets {
		if slices.Contains(drawn, p) {
			continue
		}
		c.Presets[i] = sameFacts(p, drawn)
	}
	return c
}

// sameFacts returns a drawn release preset with the facts of release p.
func sameFacts(p string, drawn []string) string {
	want, ok := runtime.ParseRelease(p)
	if !ok {
		return p
	}
	have, _ := runtime.LookupPreset([]string{p})
	fallback := scenario.ReleaseName(want.Minor, runtime.Latest)
	for _, d := range drawn {
		r, ok := runtime.ParseRelease(d)
		if !ok || r.Minor != want.Minor {
			continue
		}
		if q, _ := runtime.LookupPreset([]string{d}); q.SameFacts(have) {
			return d
		}
	}
	return fallback
}

// CorpusScenarios decodes every file of dir, a go test fuzz corpus
// directory (this package's testdata/fuzz/FuzzShutdown, named from the
// caller's directory), in name order: the inputs other packages' tests run.
func CorpusScenarios(dir string) ([]*scenario.Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no fuzz corpus files in %s", dir)
	}
	var out []*scenario.Scenario
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		data, err := UnmarshalCorpusFile(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		out = append(out, scenario.Decode(data))
	}
	return out, nil
}
