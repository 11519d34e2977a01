package runtime

import (
	"fmt"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The wait-for chains of a narrated run of the step function: chaos's
// Controller.chain and neverChain (chaos/chain.go) over the step
// function's waits, each worded as the goroutine model's chaos.Wait of the
// same kind (String, Blocker, Never).

// chain is Controller.chain: the wait-for edges from thread id until they
// repeat, end at a thread that is not blocked, or at a wait nobody can
// satisfy; one line per thread and how the chain ends.
func (d *driver) chain(id int) ([]string, string) {
	var lines []string
	seen := map[int]bool{}
	for {
		if seen[id] {
			lines[len(lines)-1] += " (cycle)"
			return lines, chaos.ChainCycle
		}
		seen[id] = true
		t := &d.s.threads[id]
		name := d.name(id)
		if t.is(tDone) {
			return append(lines, name+" has ended"), chaos.ChainEnded
		}
		if t.wait == wNone || d.m.ready(d.s, id, t.wait, int(t.waitArg)) {
			return append(lines, name+" can run"), chaos.ChainRunnable
		}
		next, _ := d.m.blocker(d.s, id, t.wait, int(t.waitArg))
		line := fmt.Sprintf("%s waits for %s", name, d.waitString(id))
		if next >= 0 {
			line += " (held by " + d.name(next) + ")"
		}
		lines = append(lines, line)
		if t.wait == wForever {
			return lines, chaos.ChainForever
		}
		if next < 0 {
			return lines, chaos.ChainOpen
		}
		id = next
	}
}

// neverChain is Controller.neverChain: the chain blockedForGood found,
// naming what each thread waits for and why it can never come.
func (d *driver) neverChain(id int) ([]string, string) {
	var lines []string
	seen := map[int]bool{}
	for {
		t := &d.s.threads[id]
		name := d.name(id)
		switch {
		case seen[id]:
			lines[len(lines)-1] += " (cycle)"
			return lines, chaos.ChainCycle
		case t.is(tDone):
			return append(lines, name+" has ended"), chaos.ChainEnded
		}
		seen[id] = true
		line := fmt.Sprintf("%s waits for %s", name, d.waitString(id))
		if t.wait == wForever {
			return append(lines, line), chaos.ChainForever
		}
		if why, how, never := d.never(id); never {
			return append(lines, line+", which can never come: "+why), how
		}
		id, _ = d.m.blocker(d.s, id, t.wait, int(t.waitArg))
		lines = append(lines, line+" (held by "+d.name(id)+")")
	}
}

// never is the Never of thread id's wait, for the waits that have one
// (eventWait, guardWait).
func (d *driver) never(id int) (why, how string, ok bool) {
	t := &d.s.threads[id]
	switch t.wait {
	case wEvent:
		name := d.m.eventName(int(t.waitArg))
		return d.nobodyMay("set "+name, d.m.live.setOp(uint(t.waitArg)), id)
	case wGuards:
		return d.guardsNever()
	}
	return "", "", false
}

// waitString is the String of thread id's wait.
func (d *driver) waitString(id int) string {
	t := &d.s.threads[id]
	arg := int(t.waitArg)
	switch t.wait {
	case wGIL:
		return "the GIL"
	case wSwitch:
		return switchWaitString
	case wForever:
		if len(t.frames) == 1 { // strike under hang leaves only the parked frame
			return "nothing: " + d.name(id) + " is hung by the exit policy"
		}
		return "nothing: " + d.name(id) + " is parked"
	case wLock:
		return "mutex " + d.lockName(arg)
	case wJoin, wEnded:
		return "join " + d.name(arg)
	case wStart:
		return startWaitString(d.name(arg))
	case wNonDaemon:
		return nonDaemonWaitString(d.name(d.m.aliveNonDaemon(d.s)))
	case wEvent:
		return "event " + d.m.eventName(arg)
	case wStdout:
		return "the stdout lock"
	case wGuards:
		return d.guardWaitString()
	}
	return "?"
}

// lockName is the name of lock id l.
func (d *driver) lockName(l int) string {
	for name, id := range d.m.locks {
		if int(id) == l {
			return name
		}
	}
	return "?"
}

// guardNameOf is the name of guard name id g ("" for ensure view's).
func (m *Machine) guardNameOf(g int8) string {
	for name, id := range m.guardNames {
		if id == g {
			return name
		}
	}
	return ""
}

// guardWaitString is guardWait.String.
func (d *driver) guardWaitString() string {
	var names []string
	for i, h := range d.s.guards {
		n := guardName(d.m.guardNameOf(h.name))
		if h.leaked {
			n += " (leaked)"
		}
		if i > 0 {
			n += " held by " + d.name(int(h.holder))
		}
		names = append(names, n)
	}
	return guardWaitWords(names)
}

// guardsNever is guardWait.Never.
func (d *driver) guardsNever() (why, how string, ok bool) {
	var whys []string
	how = chaos.ChainNever
	for _, h := range d.s.guards {
		holder, hs := int(h.holder), &d.s.threads[h.holder]
		name := d.m.guardNameOf(h.name)
		switch {
		case h.leaked:
			whys = append(whys, leakedGuardWhy(name, d.name(holder)))
		case h.scoped:
			if !hs.is(tHung) && !hs.is(tEnded) {
				return "", "", false
			}
			whys = append(whys, scopedGuardWhy(d.name(holder), stateOf(d.s, holder), guardName(name)))
		default:
			why, hw, never := d.nobodyMay("close "+name, d.m.live.closeOp(h.name), 0)
			if !never {
				return "", "", false
			}
			whys = append(whys, heldGuardWhy(name, d.name(holder), stateOf(d.s, holder), why))
			if hw != chaos.ChainNever {
				how = hw
			}
		}
		if hs.is(tHung) {
			how = chaos.ChainForever
		} else if hs.is(tEnded) && how == chaos.ChainNever {
			how = chaos.ChainEnded
		}
	}
	return strings.Join(whys, "; "), how, true
}

// nobodyMay is Interp.nobodyMay: no live thread other than waiter can
// still run op (word: "set E", "close G"; bit: its bit, vm_live.go),
// naming the threads that would have.
func (d *driver) nobodyMay(word string, bit, waiter int) (why, how string, ok bool) {
	var gone []string
	how = chaos.ChainNever
	s, m := d.s, d.m
	for o := range s.threads {
		t := &s.threads[o]
		if o == waiter || !opIn(m.live.anywhere(o), bit) {
			continue
		}
		switch {
		case t.is(tHung):
			gone, how = append(gone, d.name(o)+" (hung by the policy)"), chaos.ChainForever
		case t.is(tEnded):
			gone = append(gone, d.name(o)+" ("+endHows[t.endHow]+")")
			if how == chaos.ChainNever {
				how = chaos.ChainEnded
			}
		case !t.is(tSpawned) && !m.maySpawn(s, o, waiter):
			gone = append(gone, d.name(o)+" (never started, and no live thread can still start it)")
		case !t.is(tSpawned) || m.mayStill(s, o, bit):
			return "", "", false
		default:
			gone = append(gone, d.name(o)+" (past its last "+word+")")
		}
	}
	why = nobodyWhy(word, gone)
	if len(gone) == 0 {
		how = chaos.ChainNever
	}
	return why, how, true
}

// stateOf is thread.state: hung, how it ended, or running.
func stateOf(s *VMState, id int) string {
	t := &s.threads[id]
	switch {
	case t.is(tHung):
		return "hung"
	case t.is(tEnded):
		return endHows[t.endHow]
	}
	return "running"
}

// endHows words thread.endHow by the step function's end kinds.
var endHows = [...]string{endReturned: "returned", endReturnedAtBootstrap: "returned at bootstrap", endUnwound: "unwound", endTerminated: "terminated"}

// stmtAt is the statement thread id is at, as thread.cur holds it: the
// innermost statement frame's.
func (m *Machine) stmtAt(s *VMState, id int) *scenario.Stmt {
	if c := m.cur(s, id); c >= 0 {
		return m.stmts[c]
	}
	return nil
}

// eventName is the name of event id e.
func (m *Machine) eventName(e int) string {
	for name, id := range m.events {
		if int(id) == e {
			return name
		}
	}
	return "?"
}

// runsStmt is the statement thread id runs: stmtAt's, or the copy of it
// that a group spawn or join runs for the copy it is at (Interp.group).
func (m *Machine) runsStmt(s *VMState, id int) *scenario.Stmt {
	fr := s.threads[id].frames
	for i := len(fr) - 1; i >= 0; i-- {
		switch fr[i].kind {
		case fGroup:
			st := m.stmts[fr[i].a]
			if fr[i].i > 0 {
				c := *st
				c.Name = m.sc.Threads[m.group[fr[i].a][fr[i].i-1]].Name
				return &c
			}
			return st
		case fStmt, fTLSBody:
			return m.stmts[fr[i].a]
		}
	}
	return nil
}
