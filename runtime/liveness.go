package runtime

import (
	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Liveness in sampled mode: the spec's v2 rule "Deadlock includes
// livelock". When main waits on something no thread can still provide, the
// run is a deadlock at once, even while other threads spin. The
// controller follows main's wait-for chain (chaos.BlockerOnly,
// chaos.Hopeless); this file says when an event can never be set.

// eventWait is a wait for an event (the wait statement). It is Hopeless
// when no thread that is still live can set the event: threads that ended
// or that the policy hung are out, a thread that has not started counts
// only while a live thread may still spawn it, and a running thread only
// if a set of the event lies ahead of where it is (see futureOps).
type eventWait struct {
	in   *Interp
	t    *thread
	name string
}

func (w eventWait) Ready() bool    { return w.in.events[w.name] }
func (w eventWait) Blocker() int   { return -1 }
func (w eventWait) String() string { return "event " + w.name }

// Never reports that no live thread can still set the event, naming the
// threads that would have.
func (w eventWait) Never() (why, how string, ok bool) {
	return w.in.nobodyMay("set "+w.name, w.t)
}

// nobodyMay reports that no live thread other than waiter can still run op
// ("set E", "close G"), naming the threads that would have, and how the
// wait-for chain ends (chaos.ChainForever when one was hung, ChainEnded
// when one ended).
func (in *Interp) nobodyMay(op string, waiter *thread) (why, how string, ok bool) {
	var gone []string
	how = chaos.ChainNever
	for _, o := range in.threads {
		if o == waiter || !in.opsAnywhere(o)[op] {
			continue
		}
		switch {
		case o.hung:
			gone, how = append(gone, o.name+" (hung by the policy)"), chaos.ChainForever
		case o.ended:
			gone = append(gone, o.name+" ("+o.endHow+")")
			if how == chaos.ChainNever {
				how = chaos.ChainEnded
			}
		case !o.spawned && !in.maySpawn(o, waiter):
			gone = append(gone, o.name+" (never started, and no live thread can still start it)")
		case !o.spawned || in.mayStill(o, op):
			return "", "", false
		default:
			gone = append(gone, o.name+" (past its last "+op+")")
		}
	}
	if len(gone) == 0 {
		how = chaos.ChainNever
	}
	return nobodyWhy(op, gone), how, true
}

// maySpawn reports whether thread o, not started, may still be spawned by
// a live thread other than waiter: spawns are not refused yet, and some
// such thread has a spawn of o ahead of it (a thread not started itself
// counts if any of its body spawns o).
func (in *Interp) maySpawn(o, waiter *thread) bool {
	if in.finalizing && !in.preset.SpawnWhileFinalizing {
		return false
	}
	for _, u := range in.threads {
		if u == o || u == waiter || u.hung || u.ended || !in.opsAnywhere(u)["spawn "+o.name] {
			continue
		}
		if !u.spawned || in.mayStill(u, "spawn "+o.name) {
			return true
		}
	}
	return false
}

// opsAnywhere returns the "set E" and "spawn T" statements some body of t
// holds (main: its body, atexit and teardown blocks).
func (in *Interp) opsAnywhere(t *thread) map[string]bool {
	if in.liveness.anywhere == nil {
		in.liveness.anywhere = map[int]map[string]bool{}
	}
	if m, ok := in.liveness.anywhere[t.id]; ok {
		return m
	}
	bodies := [][]*scenario.Stmt{t.decl.Body}
	if t.id == 0 {
		for _, b := range in.sc.Atexit {
			bodies = append(bodies, b.Body)
		}
		for _, b := range in.sc.Teardown {
			bodies = append(bodies, b.Body)
		}
		for _, b := range in.sc.AfterFinalize {
			bodies = append(bodies, b.Body)
		}
	}
	m := map[string]bool{}
	for _, b := range bodies {
		addOps(m, b)
	}
	in.liveness.anywhere[t.id] = m
	return m
}

// addOps adds the set, spawn and close statements of body to m.
func addOps(m map[string]bool, body []*scenario.Stmt) {
	scenario.Walk(body, func(st *scenario.Stmt) {
		switch st.Op {
		case scenario.OpSet:
			m["set "+st.Name] = true
		case scenario.OpSpawn:
			m["spawn "+st.Name] = true
		case scenario.OpClose:
			m["close "+st.Name] = true
		}
	})
}

// mayStill reports whether t, live, may still run op ("set E", "spawn
// T"): it lies ahead of t's current statement, or t is main
// (conservatively), or where t is cannot be told.
func (in *Interp) mayStill(t *thread, op string) bool {
	if t.id == 0 || t.cur == nil || in.pendingTLSOp(t, op) {
		return true
	}
	if in.liveness.future == nil {
		in.liveness.future = map[*scenario.Stmt]map[string]bool{}
	}
	m, ok := in.liveness.future[t.cur]
	if !ok {
		m = futureOps(t.decl.Body, t.cur)
		in.liveness.future[t.cur] = m
	}
	return m == nil || m[op]
}

// pendingTLSOp reports whether an atthreadexit block t registered and has
// not run yet holds op: it runs when t ends or unwinds (v2stmt.go).
func (in *Interp) pendingTLSOp(t *thread, op string) bool {
	l := in.v2.tls[t.id]
	if l == nil {
		return false
	}
	for _, st := range l.blocks {
		m := map[string]bool{}
		addOps(m, st.Body)
		if m[op] {
			return true
		}
	}
	return false
}

// futureOps returns the set and spawn statements a thread at statement
// cur of body may still run: those of cur itself and the statements after it, at every
// level of nesting; the whole body of an enclosing loop or native frame
// (a loop runs its body again, a frame's cleanup items run at its end);
// nothing outside an enclosing forever, which never ends. It returns nil
// when cur is not in body.
func futureOps(body []*scenario.Stmt, cur *scenario.Stmt) map[string]bool {
	path := pathTo(body, cur)
	if path == nil {
		return nil
	}
	m := map[string]bool{}
	add := func(b []*scenario.Stmt) { addOps(m, b) }
	for i := len(path) - 1; i >= 0; i-- {
		lv := path[i]
		add(lv.body[lv.index:])
		if i == 0 {
			break
		}
		parent := path[i-1].body[path[i-1].index]
		switch parent.Op {
		case scenario.OpLoop, scenario.OpNative:
			add(parent.Body)
		case scenario.OpForever:
			add(parent.Body)
			return m
		}
	}
	return m
}

type level struct {
	body  []*scenario.Stmt
	index int
}

// pathTo returns the levels from body down to target, or nil.
func pathTo(body []*scenario.Stmt, target *scenario.Stmt) []level {
	for i, st := range body {
		if st == target {
			return []level{{body, i}}
		}
		for _, blk := range st.Blocks() { // the body, then an if's else
			if sub := pathTo(*blk, target); sub != nil {
				return append([]level{{body, i}}, sub...)
			}
		}
	}
	return nil
}

// threadName names thread id for wait-for chains.
func (in *Interp) threadName(id int) string {
	if id >= 0 && id < len(in.threads) {
		return in.threads[id].name
	}
	return "?"
}
