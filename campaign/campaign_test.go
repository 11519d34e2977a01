package campaign

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStateConfigMatch(t *testing.T) {
	base := StateConfig{Mode: Controlled, Shard: "0/1", Policies: []string{"hang"}, Scenarios: []ScenarioID{{"a", "1"}}}
	if w := base.match(base); w != "" {
		t.Errorf("self mismatch: %s", w)
	}
	for _, other := range []StateConfig{
		{Mode: Wild, Shard: "0/1", Policies: []string{"hang"}, Scenarios: []ScenarioID{{"a", "1"}}},
		{Mode: Controlled, Shard: "1/2", Policies: []string{"hang"}, Scenarios: []ScenarioID{{"a", "1"}}},
		{Mode: Controlled, Shard: "0/1", Policies: []string{"abort"}, Scenarios: []ScenarioID{{"a", "1"}}},
		{Mode: Controlled, Shard: "0/1", Policies: []string{"hang"}, Scenarios: []ScenarioID{{"b", "1"}}},
		{Mode: Controlled, Shard: "0/1", Policies: []string{"hang"}, Scenarios: []ScenarioID{{"a", "2"}}},
		{Mode: Controlled, Shard: "0/1", Policies: []string{"hang"}},
		{Mode: Controlled, Shard: "0/1", Policies: []string{"hang"}, Scenarios: []ScenarioID{{"a", "1"}}, Exhaustive: true},
	} {
		if base.match(other) == "" {
			t.Errorf("%+v matches %+v", other, base)
		}
	}
}

func TestRunEditedScenarioRefused(t *testing.T) {
	parse := func(src string) *scenario.Scenario {
		s, err := scenario.Parse("x.scn", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dir := filepath.Join(t.TempDir(), "c")
	cfg := Config{Dir: dir, Policies: []string{"hang"}, RunsPerCell: 3,
		Scenarios: []Scenario{{Name: "x", Scenario: parse("scenario \"x\"\nmain {\n  work 1\n}\n")}}}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Scenarios[0].Scenario = parse("scenario \"x\"\nmain {\n  work 2\n}\n")
	var mm *MismatchError
	if _, err := Run(context.Background(), cfg); !errors.As(err, &mm) {
		t.Fatalf("edited scenario: %v, want a MismatchError", err)
	}
	cfg.Fresh = true
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.Runs != 3 || sum.Resumed {
		t.Fatalf("fresh: %v %+v", err, sum)
	}
}

func TestRunDirInUse(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Skip("no directory lock here:", err)
	}
	defer unlock()
	s, err := scenario.Parse("x.scn", []byte("scenario \"x\"\nmain {\n  work 1\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Config{Dir: dir, RunsPerCell: 1, Scenarios: []Scenario{{Name: "x", Scenario: s}}})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second campaign in a locked directory: %v", err)
	}
}
