package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// PEP 788's interpreter guards in the step function, restating guards.go
// (3.15.2's make_pre_finalization_calls and the six statements).

// vmGuard is a held guard (guard). Its id tells guards apart for the
// blocks that close them; the state key renumbers ids by position, as the
// goroutine model's key leaves them out.
type vmGuard struct {
	id     int32
	name   int8 // guard name id, -1: the implicit guard of ensure view
	holder int8
	scoped bool
	leaked bool
}

// guardName returns the id of guard name G.
func (m *Machine) guardName(name string) int8 {
	id, ok := m.guardNames[name]
	if !ok {
		if m.guardNames == nil {
			m.guardNames = map[string]int8{}
		}
		id = int8(len(m.guardNames))
		m.guardNames[name] = id
	}
	return id
}

// find is guardState.find: the innermost guard block of thread t named
// name, else the guard the statement form last took under it; -1: none.
func (s *VMState) find(name int8, t int) int {
	for i := len(s.guards) - 1; i >= 0; i-- {
		if h := s.guards[i]; h.scoped && h.name == name && int(h.holder) == t {
			return i
		}
	}
	for i, h := range s.guards {
		if !h.scoped && h.name == name && !h.leaked {
			return i
		}
	}
	return -1
}

// takeGuard is takeGuard: the id of the guard granted, or false once
// guards are refused; word is the guard's name ("" for ensure view's).
func (r *run) takeGuard(name int8, word string, scoped bool) (int32, bool) {
	s, tracing := r.s, r.tracing()
	if s.flags&(vmRefusing|vmFinalizing) != 0 {
		if tracing {
			r.event(EvNote, guardRefusedWords(word))
		}
		return 0, false
	}
	if i := s.find(name, -1); i >= 0 && !scoped {
		s.guards[i].leaked = true
		if tracing {
			r.event(EvNote, guardLeakedWords(word))
		}
	}
	id := s.nextGuard
	s.nextGuard++
	s.guards = append(s.guards, vmGuard{id: id, name: name, holder: int8(r.id), scoped: scoped})
	if tracing {
		r.event(EvNote, guardGrantedWords(word))
	}
	return id, true
}

// closeGuard is closeGuard (i < 0: nothing held), at statement at
// (eventAt).
func (r *run) closeGuard(at *scenario.Stmt, i int) {
	if i < 0 {
		return
	}
	if r.tracing() {
		r.eventAt(at, EvNote, guardClosedWords(r.m.guardNameOf(r.s.guards[i].name)))
	}
	r.s.guards = append(r.s.guards[:i], r.s.guards[i+1:]...)
}

// closeID is closeID.
func (r *run) closeID(at *scenario.Stmt, id int32) {
	for i, h := range r.s.guards {
		if h.id == id {
			r.closeGuard(at, i)
			return
		}
	}
}

// guardStmt runs the six statements of PEP 788 (st, whose id is sid).
func (r *run) guardStmt(st *scenario.Stmt, sid int16) stepEnd {
	name := int8(-1)
	if st.Name != "" {
		name = r.m.guardNames[st.Name]
	}
	switch st.Op {
	case scenario.OpInterpGuard:
		r.takeGuard(name, st.Name, false)
	case scenario.OpClose:
		r.closeGuard(nil, r.s.find(name, r.id))
	case scenario.OpIfGuarded:
		b, held := r.m.sub[sid].els, r.s.find(name, r.id) >= 0
		if held {
			b = r.m.sub[sid].body
		}
		if r.tracing() {
			r.event(EvNote, ifGuardedWords(st.Name, held))
		}
		return r.push(vmFrame{kind: fBody, a: b})
	case scenario.OpEnsureGuard:
		if r.s.find(name, r.id) < 0 {
			return r.fail(Corruption, KindClosedGuard, func() string { return closedGuardWords(r.name(), st.Name) })
		}
		return r.ensure()
	case scenario.OpInterpGuardBlock, scenario.OpEnsureView:
		id, ok := r.takeGuard(name, st.Name, true)
		if !ok {
			return r.push(vmFrame{kind: fBody, a: r.m.sub[sid].els})
		}
		view := st.Op == scenario.OpEnsureView
		r.push(vmFrame{kind: fGuardBlock, a: r.m.sub[sid].body, i: id, aux: int8(boolByte(view))})
		if view {
			return r.ensure()
		}
	}
	return stepOn
}

// guardBlock is guardBlock: the body, then (ensure view) the unensure,
// then the close of the block's own guard.
func (r *run) guardBlock(f *vmFrame) stepEnd {
	switch f.phase {
	case 0:
		f.phase = 1
		return r.push(vmFrame{kind: fBody, a: f.a})
	case 1:
		f.phase = 2
		if f.aux == 1 {
			return r.unensure()
		}
		return stepOn
	}
	r.closeID(nil, f.i)
	return r.pop()
}

// closeBlocks closes the guards of the guard blocks in frames, as
// guardBlock's deferred close does when a raise, main's exit or the forced
// unwind leaves them, at statement at (eventAt).
func (r *run) closeBlocks(at *scenario.Stmt, frames []vmFrame) {
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i].kind == fGuardBlock {
			r.closeID(at, frames[i].i)
		}
	}
}

// guardNever is guardWait.Never: no held guard can be closed any more.
func (m *Machine) guardNever(s *VMState) bool {
	for _, h := range s.guards {
		holder := &s.threads[h.holder]
		switch {
		case h.leaked:
		case h.scoped:
			if !holder.is(tHung) && !holder.is(tEnded) {
				return false
			}
		default:
			if !m.never(s, 0, m.live.closeOp(h.name)) {
				return false
			}
		}
	}
	return true
}
