package campaign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// StateVersion is the version of the state file's format.
const StateVersion = 1

// State is DIR/state.json: everything a campaign needs to continue after it
// was stopped or killed. It is written atomically every few seconds and at
// the end, so that a kill loses at most the runs since the last write; those
// runs are redone on resume, as a cell's cursor only moves past runs whose
// results are recorded in the same file.
type State struct {
	Version  int         `json:"version"`
	Config   StateConfig `json:"config"`
	Started  time.Time   `json:"started"`  // start of the first session
	Updated  time.Time   `json:"updated"`  // time of this write
	Sessions int         `json:"sessions"` // sessions that wrote this state
	// ElapsedSeconds is the campaign's running time over all sessions, up
	// to this write.
	ElapsedSeconds float64      `json:"elapsed_seconds"`
	Runs           int          `json:"runs"`
	Cells          []*CellState `json:"cells"`
	// Signatures maps each failure's triage.Key (its policy and
	// Result.Signature) to what is known of it.
	Signatures map[string]*Signature `json:"signatures"`
	// Unexpected maps scenario + "|" + policy + "|" + outcome to the first
	// run whose outcome the scenario's expect lines did not allow.
	Unexpected map[string]*Unexpected `json:"unexpected"`
	// Inconclusive counts runs that ran out of their step budget before
	// anything was decided: never a pass, and not a failure signature.
	Inconclusive int `json:"inconclusive"`
}

// StateConfig is what a state file must agree on with the command line to
// be continued.
type StateConfig struct {
	Mode      string       `json:"mode"`
	Shard     string       `json:"shard"` // "i/n"
	Policies  []string     `json:"policies"`
	Scenarios []ScenarioID `json:"scenarios"`
	// Exhaustive: cells are proved before they are sampled.
	Exhaustive bool `json:"exhaustive,omitempty"`
}

// ScenarioID names a scenario and the hash of its canonical text, so that a
// state is not continued over an edited scenario.
type ScenarioID struct {
	Name string `json:"name"`
	Hash string `json:"hash"`
}

// CellState is one scenario under one policy: the work item's cursor and
// its outcome counts.
type CellState struct {
	Scenario string `json:"scenario"`
	Policy   string `json:"policy"`
	// Next is the schedule index k of the cell's next run. Indices go
	// shard, shard+n, shard+2n, ...
	Next   int            `json:"next"`
	Runs   int            `json:"runs"`
	Counts map[string]int `json:"counts"`
	// Exhaustive campaigns: the search's result. A proved cell is done;
	// an unproved one (its bound was hit) is sampled, and Outcomes holds
	// what the search found all the same.
	Searched bool     `json:"searched,omitempty"`
	Proved   bool     `json:"proved,omitempty"`
	States   int      `json:"states,omitempty"`
	Outcomes []string `json:"outcomes,omitempty"`
}

// Signature is a distinct failure.
type Signature struct {
	Signature string   `json:"signature"` // policy|outcome/kind/thread:op[/unwinding]
	Policy    string   `json:"policy"`
	Outcome   string   `json:"outcome"`
	Count     int      `json:"count"`
	Scenarios []string `json:"scenarios"` // scenarios that showed it, in the order they did
	// The first run that showed it.
	FirstScenario string    `json:"first_scenario"`
	FirstIndex    int       `json:"first_index"`    // its schedule index k
	FirstStrategy string    `json:"first_strategy"` // how it was started: "schedule pct 2 7", "wild 12"
	FirstSchedule string    `json:"first_schedule"` // the "schedule replay ..." line
	FirstTime     time.Time `json:"first_time"`
	Unexpected    bool      `json:"unexpected"` // its outcome lies outside the first scenario's expect lines
	// Crasher is the path of the minimized corpus file in DIR/crashers.
	Crasher string `json:"crasher,omitempty"`
	// CrasherError says why there is no crasher.
	CrasherError string `json:"crasher_error,omitempty"`
	// Pending: the crasher is still to be made (the campaign stopped
	// first); the next session makes it.
	Pending bool  `json:"pending,omitempty"`
	Choices []int `json:"choices,omitempty"` // the first run's schedule (state only)
}

// Unexpected is an outcome outside a scenario's expect lines: a regression.
type Unexpected struct {
	Scenario      string    `json:"scenario"`
	Policy        string    `json:"policy"`
	Outcome       string    `json:"outcome"`
	Expected      []string  `json:"expected"`
	Count         int       `json:"count"`
	Signature     string    `json:"signature,omitempty"` // of the first run; empty for clean
	FirstIndex    int       `json:"first_index"`
	FirstStrategy string    `json:"first_strategy"`
	FirstSchedule string    `json:"first_schedule"`
	FirstTime     time.Time `json:"first_time"`
	Crasher       string    `json:"crasher,omitempty"` // the crasher of Signature, if any
}

// MismatchError is returned when DIR/state.json belongs to a campaign with
// another configuration.
type MismatchError struct {
	Path string
	What string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s belongs to another campaign (%s); not continuing it. Use -fresh to start over (the old state is kept as state.json.old), or choose another -out", e.Path, e.What)
}

// scenarioHash hashes a scenario's canonical text.
func scenarioHash(s *scenario.Scenario) string {
	sum := sha256.Sum256(scenario.Print(s))
	return hex.EncodeToString(sum[:])[:16]
}

// match reports how c differs from want, or "" if it does not.
func (c StateConfig) match(want StateConfig) string {
	switch {
	case c.Mode != want.Mode:
		return fmt.Sprintf("mode %s, not %s", c.Mode, want.Mode)
	case c.Shard != want.Shard:
		return fmt.Sprintf("shard %s, not %s", c.Shard, want.Shard)
	case c.Exhaustive != want.Exhaustive:
		return fmt.Sprintf("exhaustive %v, not %v", c.Exhaustive, want.Exhaustive)
	case !slices.Equal(c.Policies, want.Policies):
		return fmt.Sprintf("policies %s, not %s", strings.Join(c.Policies, ","), strings.Join(want.Policies, ","))
	case len(c.Scenarios) != len(want.Scenarios):
		return fmt.Sprintf("%d scenarios, not %d", len(c.Scenarios), len(want.Scenarios))
	}
	for i := range c.Scenarios {
		a, b := c.Scenarios[i], want.Scenarios[i]
		if a.Name != b.Name {
			return fmt.Sprintf("scenario %d is %s, not %s", i+1, a.Name, b.Name)
		}
		if a.Hash != b.Hash {
			return fmt.Sprintf("scenario %s was edited since (hash %s, now %s)", a.Name, a.Hash, b.Hash)
		}
	}
	return ""
}

// loadState reads path; it returns nil, nil when there is no state file.
func loadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: not a campaign state file: %v", path, err)
	}
	if st.Version != StateVersion {
		return nil, &MismatchError{Path: path, What: fmt.Sprintf("state format version %d, not %d", st.Version, StateVersion)}
	}
	if st.Signatures == nil {
		st.Signatures = map[string]*Signature{}
	}
	if st.Unexpected == nil {
		st.Unexpected = map[string]*Unexpected{}
	}
	return &st, nil
}

// removeTemps deletes temporary files a killed session left in dir (of
// state.json, summary.json and the crashers), as internal/atomicfile names
// them.
func removeTemps(dir string) {
	atomicfile.RemoveTemps(dir, "*.json")
	atomicfile.RemoveTemps(filepath.Join(dir, "crashers"), "*.scn")
}

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
