package report

import (
	"reflect"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

func ev(step, thread int, kind runtime.EventKind, stmt, detail string) runtime.Event {
	return runtime.Event{Step: step, Thread: thread, Kind: kind, Stmt: stmt, Detail: detail}
}

func TestNewTimeline(t *testing.T) {
	abortMsg := "d met the must-exit check at io (after acquiring) during finalization: policy abort aborts the process"
	tests := []struct {
		name string
		in   runtime.Result
		want Timeline
	}{{
		name: "main alone, clean",
		in: runtime.Result{
			Outcome: runtime.Clean, Steps: 6, Diverged: -1, Threads: []string{"main"},
			Report: runtime.Report{Kind: runtime.KindExit, Phase: "exited", Message: "the process exited with code 0 after finalization"},
			Events: []runtime.Event{
				ev(1, 0, runtime.EvPhase, "", "wait-threads"),
				ev(2, 0, runtime.EvPhase, "", "atexit"),
				ev(3, 0, runtime.EvPhase, "", "finalizing"),
				ev(4, 0, runtime.EvPhase, "", "flush"),
				ev(4, 0, runtime.EvDropGIL, "", ""),
				ev(5, 0, runtime.EvTakeGIL, "", "flush"),
				ev(6, 0, runtime.EvPhase, "", "exited"),
			},
		},
		want: Timeline{
			Steps: 6, Diverged: -1,
			Lanes: []Lane{{Thread: 0, Name: "main", From: 0, To: 6, Spans: []Span{
				{Kind: SpanGIL, From: 0, To: 4},
				{Kind: SpanGIL, From: 5, To: 6, Open: true},
			}}},
			Phases: []Span{
				{Kind: SpanPhase, Label: "body", From: 0, To: 1},
				{Kind: SpanPhase, Label: "wait-threads", From: 1, To: 2},
				{Kind: SpanPhase, Label: "atexit", From: 2, To: 3},
				{Kind: SpanPhase, Label: "finalizing", From: 3, To: 4},
				{Kind: SpanPhase, Label: "flush", From: 4, To: 6},
				{Kind: SpanPhase, Label: "exited", From: 6, To: 6},
			},
			End: Terminal{Step: 6, Thread: 0, Outcome: "clean", Report: runtime.Report{Kind: runtime.KindExit, Phase: "exited", Message: "the process exited with code 0 after finalization"}},
		},
	}, {
		name: "daemon strikes, abort halts it",
		in: runtime.Result{
			Outcome: runtime.Abort, Steps: 9, Diverged: -1, Threads: []string{"main", "d"},
			Report: runtime.Report{Kind: runtime.KindPolicyAbort, Thread: "d", Stmt: "io@9:5", Phase: "flush", Message: abortMsg},
			Events: []runtime.Event{
				ev(1, 0, runtime.EvSpawn, "spawn@3:3", "d"),
				ev(2, 1, runtime.EvStart, "", ""),
				ev(2, 1, runtime.EvWaitGIL, "", "thread start"),
				ev(3, 0, runtime.EvDropGIL, "work@4:3", ""),
				ev(4, 1, runtime.EvTakeGIL, "", "thread start"),
				ev(5, 1, runtime.EvLock, "lock@8:5", "L"),
				ev(6, 1, runtime.EvDropGIL, "io@9:5", ""),
				ev(6, 0, runtime.EvTakeGIL, "work@4:3", "eval breaker"),
				ev(7, 0, runtime.EvPhase, "", "finalizing"),
				ev(8, 1, runtime.EvWaitGIL, "io@9:5", "io"),
				ev(9, 1, runtime.EvTakeGIL, "io@9:5", "io"),
				ev(9, 1, runtime.EvDropGIL, "io@9:5", ""),
				ev(9, 1, runtime.EvStrike, "io@9:5", "policy abort at io (after acquiring)"),
				ev(9, 1, runtime.EvEnd, "io@9:5", "abort: "+abortMsg),
			},
		},
		want: Timeline{
			Steps: 9, Diverged: -1,
			Lanes: []Lane{
				{Thread: 0, Name: "main", From: 0, To: 9, Spans: []Span{
					{Kind: SpanGIL, From: 0, To: 3},
					{Kind: SpanGIL, From: 6, To: 9, Open: true, Stmt: "work@4:3"},
				}},
				{Thread: 1, Name: "d", From: 2, To: 9, Spans: []Span{
					{Kind: SpanWaitGIL, From: 2, To: 4},
					{Kind: SpanGIL, From: 4, To: 6},
					{Kind: SpanWaitGIL, From: 8, To: 9, Stmt: "io@9:5"},
					{Kind: SpanGIL, From: 9, To: 9, Stmt: "io@9:5"},
					{Kind: SpanLock, Label: "L", From: 5, To: 9, Open: true, Stmt: "lock@8:5"},
				}, Marks: []Mark{
					{Kind: MarkStart, Step: 2},
					{Kind: MarkStrike, Step: 9, Stmt: "io@9:5", Detail: "policy abort at io (after acquiring)"},
				}},
			},
			Phases: []Span{
				{Kind: SpanPhase, Label: "body", From: 0, To: 7},
				{Kind: SpanPhase, Label: "finalizing", From: 7, To: 9},
			},
			End: Terminal{Step: 9, Thread: 1, Outcome: "abort", Report: runtime.Report{Kind: runtime.KindPolicyAbort, Thread: "d", Stmt: "io@9:5", Phase: "flush", Message: abortMsg}},
		},
	}, {
		name: "hung daemon keeps its lock, main deadlocks on it",
		in: runtime.Result{
			Outcome: runtime.Deadlock, Steps: 12, Diverged: -1, Threads: []string{"main", "d", "never"},
			Hung:   []string{"d"},
			Report: runtime.Report{Kind: runtime.KindDeadlock, Thread: "main", Stmt: "lock@20:3", Phase: "teardown", Message: "no thread can run"},
			Events: []runtime.Event{
				ev(2, 1, runtime.EvStart, "", ""),
				ev(2, 1, runtime.EvWaitGIL, "", "thread start"),
				ev(3, 0, runtime.EvDropGIL, "", ""),
				ev(3, 1, runtime.EvTakeGIL, "", "thread start"),
				ev(4, 1, runtime.EvLock, "lock@8:5", "L"),
				ev(5, 1, runtime.EvDropGIL, "io@9:5", ""),
				ev(5, 0, runtime.EvTakeGIL, "", "eval breaker"),
				ev(6, 0, runtime.EvPhase, "", "finalizing"),
				ev(7, 1, runtime.EvWaitGIL, "io@9:5", "io"),
				ev(8, 1, runtime.EvStrike, "io@9:5", "policy hang at io (while waiting)"),
				ev(8, 1, runtime.EvHang, "io@9:5", "policy hang"),
				ev(10, 0, runtime.EvPhase, "", "teardown"),
				ev(11, 0, runtime.EvWaitLock, "lock@20:3", "L"),
			},
		},
		want: Timeline{
			Steps: 12, Diverged: -1,
			Lanes: []Lane{
				{Thread: 0, Name: "main", From: 0, To: 12, Spans: []Span{
					{Kind: SpanGIL, From: 0, To: 3},
					{Kind: SpanGIL, From: 5, To: 12, Open: true},
					{Kind: SpanWaitLock, Label: "L", From: 11, To: 12, Open: true, Stmt: "lock@20:3"},
				}},
				{Thread: 1, Name: "d", From: 2, To: 12, Spans: []Span{
					{Kind: SpanWaitGIL, From: 2, To: 3},
					{Kind: SpanGIL, From: 3, To: 5},
					{Kind: SpanWaitGIL, From: 7, To: 8, Stmt: "io@9:5"},
					{Kind: SpanLock, Label: "L", From: 4, To: 12, Open: true, Stmt: "lock@8:5"},
				}, Marks: []Mark{
					{Kind: MarkStart, Step: 2},
					{Kind: MarkStrike, Step: 8, Stmt: "io@9:5", Detail: "policy hang at io (while waiting)"},
					{Kind: MarkHang, Step: 8, Stmt: "io@9:5", Detail: "policy hang"},
				}},
				{Thread: 2, Name: "never", From: -1, To: -1},
			},
			Phases: []Span{
				{Kind: SpanPhase, Label: "body", From: 0, To: 6},
				{Kind: SpanPhase, Label: "finalizing", From: 6, To: 10},
				{Kind: SpanPhase, Label: "teardown", From: 10, To: 12},
			},
			End: Terminal{Step: 12, Thread: 0, Outcome: "deadlock", Report: runtime.Report{Kind: runtime.KindDeadlock, Thread: "main", Stmt: "lock@20:3", Phase: "teardown", Message: "no thread can run"}},
		},
	}, {
		name: "unwound thread stops waiting for a lock, terminated one keeps its lock",
		in: runtime.Result{
			Outcome: runtime.Budget, Steps: 20, Diverged: 3, Threads: []string{"main", "u", "t"},
			Report: runtime.Report{Kind: runtime.KindBudget, Phase: "body", Message: "out of steps"},
			Events: []runtime.Event{
				ev(1, 2, runtime.EvStart, "", ""),
				ev(1, 2, runtime.EvLock, "lock@5:3", "M"),
				ev(2, 1, runtime.EvStart, "", ""),
				ev(2, 1, runtime.EvWaitLock, "lock@9:3", "M"),
				ev(4, 1, runtime.EvUnwind, "lock@9:3", "0 native frame(s)"),
				ev(4, 1, runtime.EvEnd, "lock@9:3", "unwound"),
				ev(5, 2, runtime.EvEnd, "io@6:3", "terminated"),
			},
		},
		want: Timeline{
			Steps: 20, Diverged: 3,
			Lanes: []Lane{
				{Thread: 0, Name: "main", From: 0, To: 20, Spans: []Span{{Kind: SpanGIL, From: 0, To: 20, Open: true}}},
				{Thread: 1, Name: "u", From: 2, To: 4, Spans: []Span{
					{Kind: SpanWaitLock, Label: "M", From: 2, To: 4, Stmt: "lock@9:3"},
				}, Marks: []Mark{
					{Kind: MarkStart, Step: 2},
					{Kind: MarkUnwind, Step: 4, Stmt: "lock@9:3", Detail: "0 native frame(s)"},
					{Kind: MarkEnd, Step: 4, Stmt: "lock@9:3", Detail: "unwound"},
				}},
				{Thread: 2, Name: "t", From: 1, To: 5, Spans: []Span{
					{Kind: SpanLock, Label: "M", From: 1, To: 20, Open: true, Stmt: "lock@5:3"},
				}, Marks: []Mark{
					{Kind: MarkStart, Step: 1},
					{Kind: MarkEnd, Step: 5, Stmt: "io@6:3", Detail: "terminated"},
				}},
			},
			Phases: []Span{{Kind: SpanPhase, Label: "body", From: 0, To: 20}},
			End:    Terminal{Step: 20, Thread: -1, Outcome: "budget", Report: runtime.Report{Kind: runtime.KindBudget, Phase: "body", Message: "out of steps"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewTimeline(&tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("NewTimeline:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestNewTimelineTruncated(t *testing.T) {
	r := &runtime.Result{Outcome: runtime.Budget, Steps: 100000, Diverged: -1, Threads: []string{"main", "d"},
		Report: runtime.Report{Kind: runtime.KindBudget, Phase: "body", Message: "out of steps"}}
	r.Events = append(r.Events, ev(1, 1, runtime.EvStart, "", ""), ev(1, 1, runtime.EvLock, "lock@3:3", "L"))
	for len(r.Events) < maxTraceEvents {
		step := len(r.Events)
		r.Events = append(r.Events, ev(step, 0, runtime.EvDropGIL, "", ""), ev(step, 1, runtime.EvTakeGIL, "", ""),
			ev(step+1, 1, runtime.EvDropGIL, "", ""), ev(step+1, 0, runtime.EvTakeGIL, "", ""))
	}
	last := r.Events[len(r.Events)-1].Step
	tl := NewTimeline(r)
	if !tl.Truncated || tl.TraceEnd != last || tl.Steps != 100000 {
		t.Fatalf("truncated %v trace end %d (want %d) steps %d", tl.Truncated, tl.TraceEnd, last, tl.Steps)
	}
	for _, l := range tl.Lanes {
		for _, sp := range l.Spans {
			if sp.To > last {
				t.Errorf("lane %s: span %+v goes past the trace's end %d", l.Name, sp, last)
			}
		}
	}
	if lock := tl.Lanes[1].Spans[len(tl.Lanes[1].Spans)-1]; lock.Kind != SpanLock || !lock.Open || lock.To != last {
		t.Errorf("lock span %+v, want open until %d", lock, last)
	}
}

// TestTimelineInvariants checks real traced runs of the library: every
// span lies within the run, and at most one thread holds the GIL at a time.
func TestTimelineInvariants(t *testing.T) {
	for _, name := range scenarios.Names() {
		s, err := scenarios.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range scenario.Policies {
			for seed := uint64(0); seed < 4; seed++ {
				r, err := runtime.Run(s, runtime.Config{Policy: p, Schedule: &scenario.Schedule{Kind: scenario.ScheduleRandom, Seed: seed}, Trace: true})
				if err != nil {
					t.Fatal(err)
				}
				tl := NewTimeline(r)
				if len(tl.Lanes) != len(r.Threads) {
					t.Fatalf("%s/%s: %d lanes for %d threads", name, p, len(tl.Lanes), len(r.Threads))
				}
				var gil []Span
				for _, l := range tl.Lanes {
					for _, sp := range l.Spans {
						if sp.From < 0 || sp.From > sp.To || sp.To > tl.Steps {
							t.Errorf("%s/%s seed %d: lane %s: span %+v outside [0, %d]", name, p, seed, l.Name, sp, tl.Steps)
						}
						if sp.Kind == SpanGIL {
							gil = append(gil, sp)
						}
					}
				}
				sortSpans(gil)
				for i := 1; i < len(gil); i++ {
					if gil[i].From < gil[i-1].To {
						t.Errorf("%s/%s seed %d: GIL spans overlap: %+v and %+v", name, p, seed, gil[i-1], gil[i])
					}
					if gil[i].To < gil[i-1].To {
						gil[i].To = gil[i-1].To
					}
				}
				if tl.End.Outcome != string(r.Outcome) || tl.End.Step > tl.Steps {
					t.Errorf("%s/%s seed %d: end %+v", name, p, seed, tl.End)
				}
			}
		}
	}
}

// The v2 statements on the timeline: a raising join (3.14's
// PythonFinalizationError in a __del__) is a raise mark, and park keeps
// the parked thread's GIL span open (here p parks without it).
func TestTimelineRaiseAndPark(t *testing.T) {
	s, err := scenario.Parse("v2.scn", []byte(`scenario "v2"
preset cpython-3.14
main { spawn z
  spawn p nowait
  work 2 }
daemon z { forever { io } }
daemon p { release
  park }
teardown { join z }`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := runtime.Run(s, runtime.Config{Policy: "hang", Trace: true})
	if err != nil {
		t.Fatal(err)
	}
	tl := NewTimeline(r)
	kinds := map[string]bool{}
	for _, l := range tl.Lanes {
		for _, m := range l.Marks {
			kinds[l.Name+"/"+m.Kind] = true
		}
	}
	if r.Outcome != runtime.Clean || !kinds["main/"+MarkRaise] || !kinds["p/"+MarkPark] {
		t.Errorf("%s: marks %v, want a raise on main and a park on p\n%s", r.Outcome, kinds, r.Text())
	}
}
