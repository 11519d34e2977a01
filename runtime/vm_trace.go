package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// The trace of a narrated run of the step function (Config.Trace: the
// timeline's events), restating trace.go's Interp.event: each event call
// in vm*.go stands where the goroutine model records the same event, with
// the same detail (words.go). In the search (run.n nil) and in an
// untraced run an event costs a nil check: a detail built from more than
// a constant is built under tracing().

// tracing reports whether the run records events.
func (r *run) tracing() bool { return r.n != nil && r.n.trace }

// event is Interp.event: thread r.id did k, at the statement it is at
// (thread.cur: Machine.stmtAt).
func (r *run) event(k EventKind, detail string) {
	if r.n != nil && r.n.trace {
		r.record(nil, k, detail)
	}
}

// eventAt is event where thread.cur is st, not the innermost statement
// of the position (nil: that one): a raise or main's exit that leaves
// guard blocks closes them at the statement that raised or exited.
func (r *run) eventAt(st *scenario.Stmt, k EventKind, detail string) {
	if r.n != nil && r.n.trace {
		r.record(st, k, detail)
	}
}

// record appends the event, at most maxEvents of them; Step is the
// number of scheduling points taken (chaos.Controller.Steps).
func (r *run) record(st *scenario.Stmt, k EventKind, detail string) {
	n := r.n
	if len(n.events) >= maxEvents {
		return
	}
	if st == nil {
		st = r.m.stmtAt(r.s, r.id)
	}
	n.events = append(n.events, Event{Step: n.steps, Thread: r.id, Kind: k, Stmt: stmtRef(st), Detail: detail})
}

// excKey is the frame (a thread and its depth in the position) that
// keeps a raised exception on its way (a native frame whose body raised,
// the items of a frame one of whose cleanup bodies raised).
type excKey struct{ thread, depth int }

// keepExc records, in a traced run, that the frame at depth keeps the
// exception msg (the goroutine model's pyRaise in a Go local).
func (r *run) keepExc(depth int, msg string) {
	if !r.tracing() {
		return
	}
	if r.n.exc == nil {
		r.n.exc = map[excKey]string{}
	}
	r.n.exc[excKey{r.id, depth}] = msg
}

// keptExc is the exception the frame at depth keeps ("" in an untraced
// run).
func (r *run) keptExc(depth int) string {
	if !r.tracing() {
		return ""
	}
	return r.n.exc[excKey{r.id, depth}]
}
