package report

import (
	"sort"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Span kinds: what a lane was doing between two steps.
const (
	SpanGIL      = "gil"       // the thread held the GIL (take-gil .. drop-gil)
	SpanWaitGIL  = "wait-gil"  // the thread waited for the GIL (wait-gil .. take-gil)
	SpanLock     = "lock"      // the thread held C-level mutex Label (lock .. unlock)
	SpanWaitLock = "wait-lock" // the thread waited for mutex Label (wait-lock .. lock)
	SpanPhase    = "phase"     // main was in finalization phase Label
)

// Mark kinds: a point event on a lane.
const (
	MarkStart  = "start"  // a spawned thread began to run
	MarkStrike = "strike" // the thread met the thread-exit policy (or callback)
	MarkHang   = "hang"   // the policy parked the thread for ever
	MarkUnwind = "unwind" // a forced unwind began
	MarkEnd    = "end"    // the thread ended: returned, unwound or terminated
	MarkRaise  = "raise"  // a statement raised (a join or spawn refused at shutdown)
	MarkPark   = "park"   // the thread parked itself for ever (park), keeping what it holds
)

// Span is an interval [From, To] of scheduling steps. Open spans were still
// in progress when the run ended (a lock never released, a GIL wait that
// never returned); their To is the timeline's last step.
type Span struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"` // the lock name, or the phase
	From  int    `json:"from"`
	To    int    `json:"to"`
	Open  bool   `json:"open,omitempty"`
	Stmt  string `json:"stmt,omitempty"` // the statement that opened the span
}

// Mark is a point event at a step.
type Mark struct {
	Kind   string `json:"kind"`
	Step   int    `json:"step"`
	Stmt   string `json:"stmt,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Lane is one thread's row of the timeline.
type Lane struct {
	Thread int    `json:"thread"`
	Name   string `json:"name"`
	// From and To bound the steps the thread was alive; From is -1 for a
	// thread that never started. A thread still alive (or hung) at the end
	// has To equal to the timeline's Steps.
	From  int    `json:"from"`
	To    int    `json:"to"`
	Spans []Span `json:"spans,omitempty"`
	Marks []Mark `json:"marks,omitempty"`
}

// Terminal is the event that ended the run: the failing event with its
// report, or main's exit for a clean run. Thread is -1 when no thread is
// to blame (a budget run).
type Terminal struct {
	Step    int            `json:"step"`
	Thread  int            `json:"thread"`
	Outcome string         `json:"outcome"`
	Report  runtime.Report `json:"report"`
}

// Timeline is the drawable form of a traced run: one lane per thread and
// main's finalization phases as bands across all lanes, on an x axis of
// scheduling steps (runtime.Event.Step).
type Timeline struct {
	Steps    int      `json:"steps"` // the last step; every span and mark lies in [0, Steps]
	Lanes    []Lane   `json:"lanes"`
	Phases   []Span   `json:"phases,omitempty"` // "body" then main's EvPhase phases, in order
	End      Terminal `json:"end"`
	Diverged int      `json:"diverged"` // the replay's divergence step, or -1
	// Truncated is set when the runtime stopped recording events (its trace
	// is bounded, and a budget run fills it). Nothing is known after
	// TraceEnd, the step of the last recorded event: spans still open there
	// end at TraceEnd (and are marked Open).
	Truncated bool `json:"truncated,omitempty"`
	TraceEnd  int  `json:"trace_end,omitempty"`
}

// maxTraceEvents mirrors the runtime's bound on a trace.
const maxTraceEvents = 20000

// NewTimeline computes the timeline of r, which must have been run with
// Trace set (without events it has one idle lane per thread). It is a pure
// function of r.
//
// The model's conventions: main starts holding the GIL (the runtime emits
// no take-gil for it); a span still open at the end of the run is closed at
// the timeline's last step and marked Open; a GIL wait ends at the next
// take-gil, strike, hang or end of the same thread; a strike, hang, unwind
// or end also closes the thread's GIL hold (the runtime drops the GIL
// first, but a halted thread may not have).
func NewTimeline(r *runtime.Result) Timeline {
	tl := Timeline{Steps: r.Steps, Diverged: r.Diverged, Truncated: len(r.Events) >= maxTraceEvents}
	for _, e := range r.Events {
		if e.Step > tl.Steps {
			tl.Steps = e.Step
		}
	}
	n := len(r.Threads)
	for _, e := range r.Events {
		if e.Thread >= n {
			n = e.Thread + 1
		}
	}
	type open struct {
		gil, waitGIL int // start steps, -1 if closed
		gilStmt      string
		waitStmt     string
		locks        map[string]Span // held or waited-for mutexes, by name
		lockOrder    []string
	}
	state := make([]*open, n)
	tl.Lanes = make([]Lane, n)
	for i := range tl.Lanes {
		name := ""
		if i < len(r.Threads) {
			name = r.Threads[i]
		}
		tl.Lanes[i] = Lane{Thread: i, Name: name, From: -1, To: -1}
		state[i] = &open{gil: -1, waitGIL: -1, locks: map[string]Span{}}
	}
	if n > 0 {
		// main runs from step 0, holding the GIL.
		tl.Lanes[0].From = 0
		state[0].gil = 0
	}
	closeGIL := func(i, step int) {
		s := state[i]
		if s.gil >= 0 {
			tl.Lanes[i].Spans = append(tl.Lanes[i].Spans, Span{Kind: SpanGIL, From: s.gil, To: step, Stmt: s.gilStmt})
			s.gil, s.gilStmt = -1, ""
		}
	}
	closeWait := func(i, step int) {
		s := state[i]
		if s.waitGIL >= 0 {
			tl.Lanes[i].Spans = append(tl.Lanes[i].Spans, Span{Kind: SpanWaitGIL, From: s.waitGIL, To: step, Stmt: s.waitStmt})
			s.waitGIL, s.waitStmt = -1, ""
		}
	}
	openLock := func(i int, sp Span) {
		s := state[i]
		if _, ok := s.locks[sp.Label]; !ok {
			s.lockOrder = append(s.lockOrder, sp.Label)
		}
		s.locks[sp.Label] = sp
	}
	closeLock := func(i int, name, kind string, step int) {
		s := state[i]
		sp, ok := s.locks[name]
		if !ok || sp.Kind != kind {
			return
		}
		sp.To = step
		tl.Lanes[i].Spans = append(tl.Lanes[i].Spans, sp)
		delete(s.locks, name)
	}
	var lastPhase *Span
	phase := func(name string, step int) {
		if lastPhase != nil {
			lastPhase.To = step
		}
		tl.Phases = append(tl.Phases, Span{Kind: SpanPhase, Label: name, From: step})
		lastPhase = &tl.Phases[len(tl.Phases)-1]
	}
	if n > 0 {
		phase("body", 0)
	}
	ended := make([]bool, n)
	lastHalt := -1 // index in r.Events of the halting end event
	for k, e := range r.Events {
		i := e.Thread
		if i < 0 {
			continue
		}
		lane := &tl.Lanes[i]
		mark := func(kind string) {
			lane.Marks = append(lane.Marks, Mark{Kind: kind, Step: e.Step, Stmt: e.Stmt, Detail: e.Detail})
		}
		switch e.Kind {
		case runtime.EvStart:
			if lane.From < 0 {
				lane.From = e.Step
			}
			mark(MarkStart)
		case runtime.EvTakeGIL:
			closeWait(i, e.Step)
			if state[i].gil < 0 {
				state[i].gil, state[i].gilStmt = e.Step, e.Stmt
			}
		case runtime.EvDropGIL:
			closeGIL(i, e.Step)
		case runtime.EvWaitGIL:
			if state[i].waitGIL < 0 {
				state[i].waitGIL, state[i].waitStmt = e.Step, e.Stmt
			}
		case runtime.EvWaitLock:
			openLock(i, Span{Kind: SpanWaitLock, Label: e.Detail, From: e.Step, Stmt: e.Stmt})
		case runtime.EvLock:
			closeLock(i, e.Detail, SpanWaitLock, e.Step)
			openLock(i, Span{Kind: SpanLock, Label: e.Detail, From: e.Step, Stmt: e.Stmt})
		case runtime.EvUnlock:
			closeLock(i, e.Detail, SpanLock, e.Step)
		case runtime.EvPhase:
			phase(e.Detail, e.Step)
		case runtime.EvRaise:
			mark(MarkRaise)
		case runtime.EvPark:
			// It keeps what it holds: the GIL span stays open.
			closeWait(i, e.Step)
			mark(MarkPark)
		case runtime.EvStrike, runtime.EvHang, runtime.EvUnwind:
			closeWait(i, e.Step)
			closeGIL(i, e.Step)
			mark(map[runtime.EventKind]string{runtime.EvStrike: MarkStrike, runtime.EvHang: MarkHang, runtime.EvUnwind: MarkUnwind}[e.Kind])
		case runtime.EvEnd:
			if isHalt(r, e) {
				lastHalt = k
				continue
			}
			closeWait(i, e.Step)
			closeGIL(i, e.Step)
			for _, name := range state[i].lockOrder {
				// A thread that ends stops waiting; the locks it holds stay held.
				closeLock(i, name, SpanWaitLock, e.Step)
			}
			mark(MarkEnd)
			lane.To = e.Step
			ended[i] = true
		}
	}
	// Close what is still open at the end of the run (or of the trace).
	end := tl.Steps
	if tl.Truncated {
		tl.TraceEnd = r.Events[len(r.Events)-1].Step
		end = tl.TraceEnd
	}
	for i := range tl.Lanes {
		s := state[i]
		if s.gil >= 0 {
			tl.Lanes[i].Spans = append(tl.Lanes[i].Spans, Span{Kind: SpanGIL, From: s.gil, To: end, Open: true, Stmt: s.gilStmt})
		}
		if s.waitGIL >= 0 {
			tl.Lanes[i].Spans = append(tl.Lanes[i].Spans, Span{Kind: SpanWaitGIL, From: s.waitGIL, To: end, Open: true, Stmt: s.waitStmt})
		}
		for _, name := range s.lockOrder {
			if sp, ok := s.locks[name]; ok {
				sp.To, sp.Open = end, true
				tl.Lanes[i].Spans = append(tl.Lanes[i].Spans, sp)
			}
		}
		if tl.Lanes[i].From >= 0 && !ended[i] {
			tl.Lanes[i].To = tl.Steps
		}
		sortSpans(tl.Lanes[i].Spans)
	}
	if lastPhase != nil {
		lastPhase.To = tl.Steps
	}
	tl.End = Terminal{Step: tl.Steps, Thread: threadIndex(r, r.Report.Thread), Outcome: string(r.Outcome), Report: r.Report}
	switch {
	case lastHalt >= 0:
		e := r.Events[lastHalt]
		tl.End.Step, tl.End.Thread = e.Step, e.Thread
	case r.Outcome == runtime.Clean && len(tl.Phases) > 0:
		tl.End.Step, tl.End.Thread = tl.Phases[len(tl.Phases)-1].From, 0
	}
	return tl
}

// isHalt reports whether e is the run's terminal event (the runtime's halt
// writes an end event "OUTCOME: message"), not a thread's own end.
func isHalt(r *runtime.Result, e runtime.Event) bool {
	return e.Kind == runtime.EvEnd && r.Outcome != "" && strings.HasPrefix(e.Detail, string(r.Outcome)+": ")
}

func threadIndex(r *runtime.Result, name string) int {
	if name == "" {
		return -1
	}
	for i, n := range r.Threads {
		if n == name {
			return i
		}
	}
	return -1
}

// sortSpans orders spans by row group (the GIL row first, then the lock
// rows), then by start; stable, so that equal spans keep trace order.
func sortSpans(list []Span) {
	rank := func(s Span) int {
		if s.Kind == SpanGIL || s.Kind == SpanWaitGIL {
			return 0
		}
		return 1
	}
	sort.SliceStable(list, func(i, j int) bool {
		if ri, rj := rank(list[i]), rank(list[j]); ri != rj {
			return ri < rj
		}
		return list[i].From < list[j].From
	})
}
