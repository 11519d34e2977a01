package runtime_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// A state copied into the memory of a dropped one (CloneInto, as the
// exhaustive search does) is the state Clone gives: the same key, the
// same keys after the same steps, no array in common with the state it
// was taken from, and neither sees the other's steps. Random walks over every library
// scenario, each copy made into a state of another walk or scenario.
func TestCloneIntoIsClone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var dropped []*runtime.VMState
	walks := 0
	for _, lf := range testscn.Library(t) {
		f, s := lf.Path, lf.Scenario
		for _, policy := range scenario.Policies {
			m, err := runtime.NewMachine(s, policy)
			if errors.Is(err, runtime.ErrUnsupported) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				walks++
				dropped = walkCopies(t, f, m, rng, dropped)
			}
		}
	}
	if walks == 0 {
		t.Fatal("the step function models no library scenario")
	}
}

// walkCopies walks m at random; at each state it compares a Clone and a
// CloneInto a dropped state, then goes on with one of them and drops the
// others.
func walkCopies(t *testing.T, file string, m *runtime.Machine, rng *rand.Rand, dropped []*runtime.VMState) []*runtime.VMState {
	t.Helper()
	st, term := m.Initial()
	var runnable []int
	for step := 0; term == nil && step < 200; step++ {
		if runnable = m.Runnable(st, runnable[:0]); m.End(st, runnable) != nil {
			break
		}
		key := st.AppendKey(nil)
		a := st.Clone()
		var into *runtime.VMState
		if len(dropped) > 0 {
			i := rng.IntN(len(dropped))
			into = dropped[i]
			dropped = slices.Delete(dropped, i, i+1)
		}
		b := st.CloneInto(into)
		if into != nil && b != into {
			t.Fatalf("%s: CloneInto did not copy into the state given", file)
		}
		if runtime.SharesMemory(st, a) || runtime.SharesMemory(st, b) || runtime.SharesMemory(a, b) {
			t.Fatalf("%s step %d: a copy shares an array with the state or the other copy", file, step)
		}
		if !bytes.Equal(a.AppendKey(nil), key) || !bytes.Equal(b.AppendKey(nil), key) {
			t.Fatalf("%s step %d: a copy's key differs from the state's", file, step)
		}
		th := runnable[rng.IntN(len(runnable))]
		ta, tb := m.Step(a, th), m.Step(b, th)
		if !bytes.Equal(a.AppendKey(nil), b.AppendKey(nil)) || (ta == nil) != (tb == nil) || (ta != nil && *ta != *tb) {
			t.Fatalf("%s step %d: Clone and CloneInto differ after thread %d steps", file, step, th)
		}
		if !bytes.Equal(st.AppendKey(nil), key) {
			t.Fatalf("%s step %d: a copy's step changed the state it was taken from", file, step)
		}
		dropped = append(dropped, st, a)
		st, term = b, tb
	}
	return append(dropped, st)
}
