package campaign

// Resuming: a session continues DIR/state.json when its configuration
// matches, and writes it every few seconds.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
)

// open loads Dir/state.json and continues it if its configuration matches,
// or starts a new state.
func (c *campaign) open() error {
	want := c.cfg.stateConfig()
	st, err := loadState(c.statePath())
	var mm *MismatchError
	switch {
	case err != nil && !errors.As(err, &mm):
		if !c.cfg.Fresh {
			return fmt.Errorf("%v (use -fresh to start over; the old file is kept as state.json.old)", err)
		}
		st = nil
	case err != nil:
		if !c.cfg.Fresh {
			return err
		}
		st = nil
	case st != nil:
		if what := st.Config.match(want); what != "" {
			if !c.cfg.Fresh {
				return &MismatchError{Path: c.statePath(), What: what}
			}
			st = nil
		}
	}
	if st == nil && c.cfg.Fresh {
		if _, err := os.Stat(c.statePath()); err == nil {
			if err := os.Rename(c.statePath(), c.statePath()+".old"); err != nil {
				return err
			}
		}
	}
	if st != nil {
		c.resumed = true
	} else {
		st = &State{Version: StateVersion, Config: want, Started: time.Now().UTC(),
			Signatures: map[string]*Signature{}, Unexpected: map[string]*Unexpected{}}
		for _, s := range c.cfg.Scenarios {
			for _, p := range c.cfg.Policies {
				st.Cells = append(st.Cells, &CellState{Scenario: s.Name, Policy: p, Next: c.cfg.Shard, Counts: map[string]int{}})
			}
		}
	}
	if len(st.Cells) != len(c.cfg.Scenarios)*len(c.cfg.Policies) {
		return &MismatchError{Path: c.statePath(), What: "its cells do not match its scenarios and policies"}
	}
	for _, cell := range st.Cells {
		if c.byName[cell.Scenario] == nil || !slices.Contains(c.cfg.Policies, cell.Policy) ||
			cell.Next < 0 || cell.Next%c.cfg.Shards != c.cfg.Shard {
			return &MismatchError{Path: c.statePath(), What: fmt.Sprintf("cell %s/%s does not belong to this campaign", cell.Scenario, cell.Policy)}
		}
		if cell.Counts == nil {
			cell.Counts = map[string]int{}
		}
	}
	st.Sessions++
	c.st = st
	c.priorSecs = st.ElapsedSeconds
	return nil
}

// finishPending makes the crashers an earlier session left pending.
func (c *campaign) finishPending(ctx context.Context) {
	c.mu.Lock()
	var pending []*Signature
	for _, k := range sortedKeys(c.st.Signatures) {
		if sig := c.st.Signatures[k]; sig.Pending {
			pending = append(pending, sig)
		}
	}
	c.mu.Unlock()
	for _, sig := range pending {
		if c.stopped(ctx) {
			return
		}
		c.makeCrasher(ctx, sig, c.byName[sig.FirstScenario], nil)
	}
}

// writeState writes Dir/state.json atomically.
func (c *campaign) writeState() error {
	c.mu.Lock()
	c.st.Updated = time.Now().UTC()
	c.st.ElapsedSeconds = c.priorSecs + time.Since(c.start).Seconds()
	data, err := marshal(c.st)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return atomicfile.Replace(c.statePath(), data) // the campaign's own file
}
