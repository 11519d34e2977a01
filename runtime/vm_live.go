package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// The liveness rule's statement sets for the step function (liveness.go:
// opsAnywhere, futureOps, pendingTLSOp), computed when the machine is
// compiled, as bit sets over the operations the rule asks about. An
// operation ("set E", "close G", "spawn T" in liveness.go) is a bit: set
// E the bit of event id E, close G that of guard name id G after the
// events, spawn T that of thread T after the guards. Only these are ever
// asked about (eventWait's and guardWait's Never ask about the set of an
// event and the close of a guard name the machine numbered, maySpawn
// about the spawn of a thread), so a statement that sets, closes or
// spawns a name without an id sets no bit.

// liveSets are a machine's liveness sets, each words long: by statement
// id, futureOps at the statement (computed for the statements of the
// bodies of the threads other than main, ids in [from, to), as NewMachine
// always did; mayStill treats the others as unknown); by statement id,
// the operations of an atthreadexit statement's block (pendingTLSOp; for
// those bodies only, as before: main never asks); by thread, opsAnywhere.
// The old sets were keyed by statement, these by statement id: the same,
// as a scenario's statements are distinct (Parse, Decode and CloneStmts
// never share one between two places).
type liveSets struct {
	words                int
	stmts                int
	closeBase, spawnBase int // the first bits of close and spawn
	from, to             int
	bits                 []uint64 // futures, then atthreadexit blocks, then anywhere
}

func (l *liveSets) set(i int) []uint64        { return l.bits[i*l.words : (i+1)*l.words] }
func (l *liveSets) future(sid int16) []uint64 { return l.set(int(sid)) }
func (l *liveSets) tls(sid int16) []uint64    { return l.set(l.stmts + int(sid)) }
func (l *liveSets) anywhere(t int) []uint64   { return l.set(2*l.stmts + t) }

// inThread reports whether statement sid lies in the body of a thread
// other than main (compile numbers the statements of each body, nested
// ones included, in a row, the threads' bodies first).
func (l *liveSets) inThread(sid int16) bool { return int(sid) >= l.from && int(sid) < l.to }

func (l *liveSets) setOp(e uint) int   { return int(e) }
func (l *liveSets) closeOp(g int8) int { return l.closeBase + int(g) }
func (l *liveSets) spawnOp(t int) int  { return l.spawnBase + t }

func opIn(set []uint64, op int) bool { return set[op/64]&(1<<(op%64)) != 0 }
func opAdd(set []uint64, op int)     { set[op/64] |= 1 << (op % 64) }
func opsAdd(set, o []uint64) {
	for i := range set {
		set[i] |= o[i]
	}
}

// liveness computes the sets: one pass over each body (suffix) gives each
// statement the operations of itself and the statements after it in its
// block, nested blocks included, and each thread opsAnywhere; a second
// over the other threads' bodies (ahead) adds what lies ahead of each
// enclosing statement, which makes futureOps.
func (m *Machine) liveness() {
	l := &m.live
	l.stmts, l.closeBase = len(m.stmts), len(m.events)
	l.spawnBase = l.closeBase + len(m.guardNames)
	l.words = (l.spawnBase + len(m.sc.Threads) + 63) / 64
	l.bits = make([]uint64, (2*l.stmts+len(m.sc.Threads))*l.words)
	for t, b := range m.thread {
		m.suffix(b, l.anywhere(t))
	}
	for _, list := range [...][]int16{m.atexit, m.teard, m.after} {
		for _, b := range list {
			m.suffix(b, l.anywhere(0))
		}
	}
	for _, b := range m.thread[1:] {
		m.ahead(b, nil)
	}
}

// suffix sets the future set of each statement of block b to the
// operations of the block's statements from it on, at every level of
// nesting (addOps of body[i:]), and adds those of the whole block to out.
// An atthreadexit statement's block's operations are its tls set (the
// rule's tlsOps: addOps of its body).
func (m *Machine) suffix(b int16, out []uint64) {
	var next []uint64
	for i := len(m.blocks[b]) - 1; i >= 0; i-- {
		sid := m.stmtID(b, i)
		st, set := m.stmts[sid], m.live.future(sid)
		m.ownOp(st, set)
		m.blockOps(st.Body, m.sub[sid].body, set)
		if st.Op == scenario.OpAtThreadExit && m.live.inThread(sid) {
			copy(m.live.tls(sid), set) // an atthreadexit has no operation itself
		}
		m.blockOps(st.Else, m.sub[sid].els, set)
		if next != nil {
			opsAdd(set, next)
		}
		next = set
	}
	if next != nil {
		opsAdd(out, next)
	}
}

// blockOps adds the operations of body, block b (0: not compiled, as the
// body of a statement whose syntax has none, which Walk still visits),
// to out.
func (m *Machine) blockOps(body []*scenario.Stmt, b int16, out []uint64) {
	switch {
	case b > 0:
		m.suffix(b, out)
	case len(body) > 0:
		scenario.Walk(body, func(st *scenario.Stmt) { m.ownOp(st, out) })
	}
}

// ownOp adds the operation st itself is to set (addOps's switch).
func (m *Machine) ownOp(st *scenario.Stmt, set []uint64) {
	switch st.Op {
	case scenario.OpSet:
		if e, ok := m.events[st.Name]; ok {
			opAdd(set, m.live.setOp(e))
		}
	case scenario.OpClose:
		if g, ok := m.guardNames[st.Name]; ok {
			opAdd(set, m.live.closeOp(g))
		}
	case scenario.OpSpawn: // "spawn T" is asked about thread T by name
		for t, d := range m.sc.Threads {
			if d.Name == st.Name {
				opAdd(set, m.live.spawnOp(t))
			}
		}
	}
}

// ahead adds to the future set of each statement of block b up, what
// lies ahead of the statement enclosing the block (nil at the top of a
// thread's body), which makes it futureOps: after the statements from cur
// on, futureOps adds, for each enclosing statement outward, the
// statements from that one on in its block (it and its blocks included,
// an if's else too), except that it stops at an enclosing forever, of
// which it adds the body only (a loop's or native frame's body, which it
// adds too, is part of the statement).
func (m *Machine) ahead(b int16, up []uint64) {
	for i := range m.blocks[b] {
		sid := m.stmtID(b, i)
		set := m.live.future(sid)
		if up != nil {
			opsAdd(set, up)
		}
		inner := set
		if m.stmts[sid].Op == scenario.OpForever {
			inner = m.bodyOps(sid)
		}
		if sb := m.sub[sid]; sb.body > 0 {
			m.ahead(sb.body, inner)
		}
		if sb := m.sub[sid].els; sb > 0 {
			m.ahead(sb, inner)
		}
	}
}

// bodyOps is addOps of the body of statement sid, a compiled body: its
// first statement's suffix set (which ahead leaves as it is: what it adds
// to the statements of the body is this set); nil when it is empty.
func (m *Machine) bodyOps(sid int16) []uint64 {
	b := m.sub[sid].body
	if b == 0 || len(m.blocks[b]) == 0 {
		return nil
	}
	return m.live.future(m.stmtID(b, 0))
}
