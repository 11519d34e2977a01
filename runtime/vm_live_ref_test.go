package runtime

import (
	"fmt"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// refLiveness is the liveness sets as NewMachine computed them before
// vm_live.go, one scenario.Walk and futureOps per statement: the
// reference the bit sets are tested against.
type refLiveness struct {
	future, tls map[*scenario.Stmt]map[string]bool
	anywhere    []map[string]bool
}

func newRefLiveness(s *scenario.Scenario) refLiveness {
	r := refLiveness{future: map[*scenario.Stmt]map[string]bool{}, tls: map[*scenario.Stmt]map[string]bool{}}
	for _, d := range s.Threads[1:] {
		scenario.Walk(d.Body, func(st *scenario.Stmt) {
			r.future[st] = futureOps(d.Body, st)
			if st.Op == scenario.OpAtThreadExit {
				r.tls[st] = map[string]bool{}
				addOps(r.tls[st], st.Body)
			}
		})
	}
	for i, d := range s.Threads {
		ops := map[string]bool{}
		addOps(ops, d.Body)
		if i == 0 {
			for _, b := range slices.Concat(s.Atexit, s.Teardown, s.AfterFinalize) {
				addOps(ops, b.Body)
			}
		}
		r.anywhere = append(r.anywhere, ops)
	}
	return r
}

// mayStill is the old Machine.mayStill's answer at statement st, from
// the future set: true where it was not computed.
func (r refLiveness) mayStill(st *scenario.Stmt, op string) bool {
	f, ok := r.future[st]
	return !ok || f == nil || f[op]
}

// askedOp is an operation the liveness rule asks about, by name and bit.
type askedOp struct {
	name string
	bit  int
}

// askedOps are every operation the step function's liveness rule can ask
// about: the set of each event, the close of each guard name, the spawn
// of each thread.
func (m *Machine) askedOps() []askedOp {
	var ops []askedOp
	for name, e := range m.events {
		ops = append(ops, askedOp{"set " + name, m.live.setOp(e)})
	}
	for name, g := range m.guardNames {
		ops = append(ops, askedOp{"close " + name, m.live.closeOp(g)})
	}
	for t, d := range m.sc.Threads {
		ops = append(ops, askedOp{"spawn " + d.Name, m.live.spawnOp(t)})
	}
	return ops
}

// CheckLiveness compares m's liveness sets with what NewMachine computed
// before (refLiveness), for every statement, thread and operation the
// rule asks about: mayStill's answer from the future sets, pendingTLSOp's
// from the atthreadexit sets, and opsAnywhere. It also checks the
// statement ids: Walk's order over the bodies, as the map of ids numbered
// them, and stmtID and the body and else block ids agree with the blocks.
func CheckLiveness(m *Machine) error {
	if err := checkIDs(m); err != nil {
		return err
	}
	ref, ops := newRefLiveness(m.sc), m.askedOps()
	for sid, st := range m.stmts {
		id := int16(sid)
		if _, ok := ref.future[st]; ok != m.live.inThread(id) {
			return fmt.Errorf("statement %d (%s at %d:%d): future computed %v, was %v", sid, st.Op, st.Pos.Line, st.Pos.Col, m.live.inThread(id), ok)
		}
		for _, op := range ops {
			got := !m.live.inThread(id) || opIn(m.live.future(id), op.bit)
			if want := ref.mayStill(st, op.name); got != want {
				return fmt.Errorf("statement %d (%s at %d:%d): %q ahead %v, futureOps says %v", sid, st.Op, st.Pos.Line, st.Pos.Col, op.name, got, want)
			}
			if got, want := opIn(m.live.tls(id), op.bit), ref.tls[st][op.name]; got != want {
				return fmt.Errorf("statement %d (%s at %d:%d): %q in its atthreadexit block %v, was %v", sid, st.Op, st.Pos.Line, st.Pos.Col, op.name, got, want)
			}
		}
	}
	for t := range m.sc.Threads {
		for _, op := range ops {
			if got, want := opIn(m.live.anywhere(t), op.bit), ref.anywhere[t][op.name]; got != want {
				return fmt.Errorf("thread %d: %q anywhere %v, opsAnywhere says %v", t, op.name, got, want)
			}
		}
	}
	return nil
}

// checkIDs checks that statement ids follow Walk over the bodies and that
// stmtID and the statements' block ids agree with the blocks.
func checkIDs(m *Machine) error {
	var walked []*scenario.Stmt
	eachBody(m.sc, func(b []*scenario.Stmt) {
		scenario.Walk(b, func(st *scenario.Stmt) { walked = append(walked, st) })
	})
	if !slices.Equal(walked, m.stmts) {
		return fmt.Errorf("statement ids: %d statements, %d walked, or not in Walk's order", len(m.stmts), len(walked))
	}
	for b, body := range m.blocks {
		for i, st := range body {
			sid := m.stmtID(int16(b), i)
			if m.stmts[sid] != st {
				return fmt.Errorf("block %d statement %d: id %d is another statement", b, i, sid)
			}
			sub, row := m.sub[sid], syntaxRows[st.Op]
			if row.body && (sub.body == 0 || !slices.Equal(m.blocks[sub.body], st.Body)) ||
				row.els && (sub.els == 0 || !slices.Equal(m.blocks[sub.els], st.Else)) {
				return fmt.Errorf("statement %d: body or else block id wrong", sid)
			}
		}
	}
	return nil
}
