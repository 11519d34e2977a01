// Package enginediff runs a scenario on both engines of the controlled
// mode, the step function (runtime.EngineStep) and the goroutine model
// (runtime.EngineGoroutine), and describes how their Results differ. Stage
// 4 of docs/step-function.md holds the two to the same Result, byte for
// byte as JSON; runtime's TestEnginesAgree and the fuzz target
// FuzzEngines check it with this package.
package enginediff

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Diff runs s under cfg on both engines (cfg.Engine is overridden) and
// returns the goroutine model's Result and a description of the
// differences, "" when there are none. Errors must agree too: both or
// neither (the Result is then nil). cfg.Strategy must be nil: a strategy
// object keeps state from one call to the next, so the two runs need one
// each (build them from cfg.Schedule instead).
func Diff(s *scenario.Scenario, cfg runtime.Config) (*runtime.Result, string) {
	if cfg.Strategy != nil {
		return nil, "enginediff: a Config.Strategy object would be shared by the two runs"
	}
	cfg.Engine = runtime.EngineGoroutine
	want, werr := runtime.Run(s, cfg)
	cfg.Engine = runtime.EngineStep
	got, gerr := runtime.Run(s, cfg)
	switch {
	case (werr != nil) != (gerr != nil):
		return nil, fmt.Sprintf("errors differ: goroutine model %v, step function %v", werr, gerr)
	case werr != nil:
		return nil, ""
	}
	return want, Fields(want, got)
}

// Fields lists the top-level JSON fields in which a and b differ, with
// both values; "" when their JSON is the same.
func Fields(a, b *runtime.Result) string {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if string(aj) == string(bj) {
		return ""
	}
	var am, bm map[string]json.RawMessage
	_ = json.Unmarshal(aj, &am)
	_ = json.Unmarshal(bj, &bm)
	var out strings.Builder
	for _, k := range slices.Sorted(maps.Keys(am)) {
		if string(am[k]) != string(bm[k]) {
			fmt.Fprintf(&out, "%s:\n  goroutine model: %s\n  step function:   %s\n", k, am[k], bm[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(bm)) {
		if _, ok := am[k]; !ok {
			fmt.Fprintf(&out, "%s:\n  goroutine model: (none)\n  step function:   %s\n", k, bm[k])
		}
	}
	return out.String()
}
