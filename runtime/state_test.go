package runtime_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// keyRecorder takes the lowest runnable thread at every point, or the
// highest, and records the key of every point.
type keyRecorder struct {
	highest bool
	keys    [][]byte
}

func (k *keyRecorder) Choose(p *runtime.Point) (int, bool) {
	k.keys = append(k.keys, p.AppendKey(nil))
	if k.highest {
		return p.Runnable[len(p.Runnable)-1], false
	}
	return p.Runnable[0], false
}

// Tables forked from one number goroutine positions as one family, so keys
// made by runs on different forks compare: a run on one fork, after a run
// on another, makes the keys it makes after the same run on one table,
// and forks may run at the same time.
func TestForkedTablesMakeComparableKeys(t *testing.T) {
	s, err := scenario.Parse("t.scn", []byte("scenario \"t\"\nmain {\n  spawn a\n  lock L\n  work 2\n  unlock L\n  join a\n}\nthread a {\n  lock L\n  io\n  unlock L\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := runtime.Config{Policy: "hang"}
	run := func(tab *runtime.StateTable, highest bool) [][]byte {
		k := &keyRecorder{highest: highest}
		if _, err := runtime.RunChooser(s, cfg, tab, k); err != nil {
			t.Error(err)
		}
		return k.keys
	}
	ref := runtime.NewStateTable(s)
	want := [][][]byte{run(ref, true), run(ref, false)}
	if fresh := run(runtime.NewStateTable(s), false); equalKeys(fresh, want[1]) {
		t.Fatal("the scenario numbers its positions alike in either order: the test checks nothing")
	}
	tab := runtime.NewStateTable(s)
	got := make([][][]byte, 4)
	for i := range 2 { // one fork after the other
		fork := tab.Fork()
		var wg sync.WaitGroup
		wg.Go(func() { got[i] = run(fork, i == 0) })
		wg.Wait()
	}
	var wg sync.WaitGroup
	for i := 2; i < 4; i++ { // two forks at once
		fork := tab.Fork()
		wg.Go(func() { got[i] = run(fork, i == 2) })
	}
	wg.Wait()
	for i, keys := range got {
		if !equalKeys(keys, want[i%2]) {
			t.Errorf("run %d on a fork: its keys are not the family's", i)
		}
	}
	if tab.Stacks() != ref.Stacks() || tab.Fork().Stacks() != ref.Stacks() {
		t.Errorf("the family counts %d positions (a fork %d), one table %d", tab.Stacks(), tab.Fork().Stacks(), ref.Stacks())
	}
}

func equalKeys(a, b [][]byte) bool {
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
