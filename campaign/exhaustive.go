package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/exhaustive"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/triage"
)

// prove runs the exhaustive search of every cell not searched yet (in an
// earlier session of the campaign or this one). A complete search proves
// the cell's outcome set and the workers skip it; an incomplete one leaves
// the cell to sampling. Every outcome the search finds is recorded like a
// sampled run's: a new failure signature (its crasher is made from the
// witness schedule; a cycle has no terminal run to minimize, so it gets
// none), and an outcome outside the expect lines as unexpected.
func (c *campaign) prove(ctx context.Context) error {
	for _, cell := range c.st.Cells {
		if c.stopped(ctx) {
			return nil
		}
		c.mu.Lock()
		searched := cell.Searched
		c.mu.Unlock()
		if searched {
			continue
		}
		s := c.byName[cell.Scenario]
		res, err := exhaustive.Explore(s, exhaustive.Options{Policy: cell.Policy, MaxStates: c.cfg.MaxStates})
		if err != nil {
			return fmt.Errorf("%s: policy %s: %w", cell.Scenario, cell.Policy, err)
		}
		c.mu.Lock()
		cell.Searched, cell.Proved, cell.States, cell.Outcomes = true, res.Complete, res.States, nil
		for _, o := range res.Seen() {
			cell.Outcomes = append(cell.Outcomes, string(o))
			c.recordProof(cell, res.Outcomes[o])
		}
		c.mu.Unlock()
	}
	return nil
}

// recordProof records a witness of the search; c.mu is held.
func (c *campaign) recordProof(cell *CellState, w *exhaustive.Witness) {
	now := time.Now().UTC()
	r := w.Result
	o := string(w.Outcome)
	set, hasExpect := c.byName[cell.Scenario].Expected(cell.Policy)
	unexpected := hasExpect && !set[o]
	sigKey := ""
	if w.Outcome != runtime.Clean {
		sigKey = triage.Key(cell.Policy, r)
		sig := c.st.Signatures[sigKey]
		if sig == nil {
			sig = &Signature{Signature: sigKey, Policy: cell.Policy, Outcome: o, Scenarios: []string{cell.Scenario},
				FirstScenario: cell.Scenario, FirstIndex: -1, FirstStrategy: "exhaustive", FirstSchedule: r.ReplayLine(),
				FirstTime: now, Unexpected: unexpected, Pending: len(w.Cycle) == 0, Choices: append([]int(nil), w.Schedule...)}
			if len(w.Cycle) > 0 {
				sig.CrasherError = "found as a fair cycle by the exhaustive search: no terminal run to minimize"
			}
			c.st.Signatures[sigKey] = sig
		}
		sig.Count++
	}
	if unexpected {
		key := unexpectedKey(cell, o)
		if c.st.Unexpected[key] == nil {
			c.st.Unexpected[key] = &Unexpected{Scenario: cell.Scenario, Policy: cell.Policy, Outcome: o, Expected: scenario.OutcomesIn(set),
				Signature: sigKey, FirstIndex: -1, FirstStrategy: "exhaustive", FirstSchedule: r.ReplayLine(), FirstTime: now}
		}
		c.st.Unexpected[key].Count++
	}
}
