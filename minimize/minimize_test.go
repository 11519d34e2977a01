package minimize

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/explore"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func library(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	s, err := scenarios.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A padded witness shrinks to a small case with the same failure, and
// minimizing twice gives the same result.
func TestMinimizeKeepsSignatureAndShrinks(t *testing.T) {
	for _, tc := range []struct{ name, policy, outcome string }{
		{"raii-decref-unwind", "unwind", "corruption"},
		{"hang-holds-lock", "hang", "deadlock"},
		{"noexcept-unwind-abort", "unwind", "abort"},
		{"stack-waiter-terminate", "terminate", "corruption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := library(t, tc.name)
			rep, err := explore.Policy(s, tc.policy, explore.Options{Runs: 500})
			if err != nil {
				t.Fatal(err)
			}
			w := rep.Outcomes[runtime.Outcome(tc.outcome)]
			if w == nil {
				t.Fatalf("no %s witness", tc.outcome)
			}
			c := Case{Scenario: s, Policy: tc.policy, Schedule: w.Result.Schedule}
			target := w.Result.Signature()
			// Keep only runs where a thread met the policy and the
			// counterfactual without must-exit checks does not fail the
			// same way (a simple form of verdict.Attribute, written out
			// here to keep the test free of the oracle).
			opts := Options{Keep: func(c Case, r *runtime.Result) bool {
				if r.Strikes == 0 {
					return false
				}
				cf, _ := runtime.Run(c.Scenario, runtime.Config{Policy: c.Policy, NoStrike: true, Schedule: &scenario.Schedule{Kind: scenario.ScheduleReplay, Choices: c.Schedule}})
				return cf.Signature() != r.Signature()
			}}
			small, r, stats := Minimize(c, target, opts)
			if r == nil || r.Signature() != target {
				t.Fatalf("minimized case lost the failure %s", target)
			}
			again, err := Run(small, 0)
			if err != nil || again.Signature() != target || again.Diverged >= 0 {
				t.Fatalf("minimized case does not replay: %v %s", err, again.Signature())
			}
			if Statements(small.Scenario) > Statements(s) || len(small.Scenario.Threads) > len(s.Threads) {
				t.Errorf("case grew")
			}
			if n := len(small.Scenario.Threads); n > 2 {
				t.Errorf("%d threads after minimization", n)
			}
			if n := Statements(small.Scenario); n > 12 {
				t.Errorf("%d statements after minimization", n)
			}
			if n := r.Preemptions; n > 4 {
				t.Errorf("%d preemptions after minimization", n)
			}
			t.Logf("%d runs, %d edits: %d threads, %d statements, %d preemptions (%d switches)\n%s%s", stats.Runs, stats.Accepted, len(small.Scenario.Threads), Statements(small.Scenario), r.Preemptions, Switches(small.Schedule), scenario.Print(small.Scenario), r.ReplayLine())
			twice, _, _ := Minimize(c, target, opts)
			if !scenario.Equal(twice.Scenario, small.Scenario) || Switches(twice.Schedule) != Switches(small.Schedule) {
				t.Errorf("minimization is not deterministic")
			}
		})
	}
}

func TestMinimizeRejectsWrongTarget(t *testing.T) {
	s := library(t, "hang-holds-lock")
	c := Case{Scenario: s, Policy: "hang", Schedule: nil}
	if _, r, _ := Minimize(c, "abort/nothing/x:y", Options{MaxRuns: 10}); r != nil {
		t.Errorf("a case that does not fail with the target was minimized")
	}
}

func TestSwitches(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want int
	}{{nil, 0}, {[]int{0}, 0}, {[]int{0, 0, 1, 1, 0}, 2}, {[]int{0, 1, 2, 1}, 3}} {
		if got := Switches(tc.in); got != tc.want {
			t.Errorf("Switches(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// blockKindCases are failing scenarios, one for each kind of block, whose
// failure does not depend on the yield statements placed inside that kind
// of block: every yield is removable. Where it can, the block also holds
// what the failure needs (the second lock of a self-deadlock, the park
// that a join waits on), so that the block itself stays and its
// statements have to be removed one by one.
var blockKindCases = []struct {
	name, policy, outcome, src string
}{
	{"thread body", "hang", "deadlock", `
main { spawn t
  join t }
thread t { lock L
  yield
  yield
  yield
  lock L }
`},
	{"replicated thread body", "hang", "deadlock", `
main { spawn w
  join w }
daemon w[2] { yield
  yield
  yield
  park }
`},
	{"native", "hang", "deadlock", `
main { new X
  lock L
  native { hold X
    yield
    yield
    yield
    lock L } }
`},
	{"cleanup", "hang", "deadlock", `
main { lock L
  native { cleanup { yield
      yield
      yield
      lock L } } }
`},
	{"cleanup unwind", "unwind", "corruption", `
main { spawn d
  work 3 }
daemon d { new X
  forever { native { cleanup unwind { yield
        yield
        yield
        decref X }
      release
      io
      acquire } } }
`},
	{"atthreadexit", "hang", "deadlock", `
main { spawn t
  join t }
thread t { lock L
  atthreadexit { yield
    yield
    yield
    lock L } }
`},
	{"teardown", "hang", "deadlock", `
main { lock L }
teardown { yield
  yield
  yield
  lock L }
`},
	{"atexit", "hang", "deadlock", `
main { lock L }
atexit { yield
  yield
  yield
  lock L }
`},
	{"after_finalize", "hang", "deadlock", `
main { lock L }
after_finalize { yield
  yield
  yield
  lock L }
`},
	// 15 statements: main deadlocks on a mutex that a parked daemon holds,
	// and the after_finalize block never runs at all.
	{"after_finalize never reached", "hang", "deadlock", `
main { spawn d
  work 2
  wait ready
  io
  lock L }
daemon d { lock L
  work 1
  set ready
  io
  release
  park }
teardown { io }
after_finalize { yield
  yield
  yield }
`},
	{"if finalizing then block", "hang", "deadlock", `
main { lock L }
teardown { if finalizing { yield
    yield
    yield
    lock L } }
`},
	{"if finalizing else block", "hang", "deadlock", `
main { lock L
  if finalizing { io } else { yield
    yield
    yield
    lock L } }
`},
	{"until", "hang", "deadlock", `
main { lock L
  until E { yield
    yield
    yield
    set E
    lock L } }
`},
	{"forever", "hang", "deadlock", `
main { lock L
  forever { yield
    yield
    yield
    lock L } }
`},
	{"loop", "hang", "deadlock", `
main { lock L
  loop 3 { yield
    yield
    yield
    lock L } }
`},
}

// yields counts the yield statements of s, in every block.
func yields(s *scenario.Scenario) int {
	n := 0
	for _, b := range s.Bodies() {
		scenario.Walk(b, func(st *scenario.Stmt) {
			if st.Op == scenario.OpYield {
				n++
			}
		})
	}
	return n
}

// The minimizer reaches every kind of block: thread bodies (replicated
// ones too), native, cleanup, cleanup unwind, atthreadexit, atexit,
// teardown and after_finalize blocks, both blocks of if finalizing, and
// until, forever and loop bodies. Yields that the failure does not need
// are removed wherever they stand (or go with their block), and the
// minimized case keeps the failure.
func TestMinimizeRemovesYieldsFromEveryBlockKind(t *testing.T) {
	for _, tc := range blockKindCases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scenario.Parse(tc.name+".scn", []byte(`scenario "`+tc.name+`"`+tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if yields(s) == 0 {
				t.Fatal("no yield to remove")
			}
			if tc.name == "after_finalize never reached" && Statements(s) != 15 {
				t.Fatalf("%d statements, want 15", Statements(s))
			}
			rep, err := explore.Policy(s, tc.policy, explore.Options{Runs: 100})
			if err != nil {
				t.Fatal(err)
			}
			w := rep.Outcomes[runtime.Outcome(tc.outcome)]
			if w == nil {
				t.Fatalf("no %s witness", tc.outcome)
			}
			target := w.Result.Signature()
			small, r, stats := Minimize(Case{Scenario: s, Policy: tc.policy, Schedule: w.Result.Schedule}, target, Options{})
			if r == nil || r.Signature() != target {
				t.Fatalf("minimized case lost the failure %s", target)
			}
			t.Logf("%s: %d -> %d statements in %d runs\n%s", target, Statements(s), Statements(small.Scenario), stats.Runs, scenario.Print(small.Scenario))
			if n := yields(small.Scenario); n > 0 {
				t.Errorf("%d of %d yields left after minimization", n, yields(s))
			}
		})
	}
}

// replaceNth addresses statements in Statements' order (the order of
// scenario.Walk over Bodies), else blocks and after_finalize blocks
// included, so that every index an edit tries is the statement it means.
// In a replicated block only the first copy is edited, and the edit is
// made in every copy.
func TestReplaceNthFollowsWalkOrder(t *testing.T) {
	s, err := scenario.Parse("all.scn", []byte(`scenario "all"
main { spawn w
  if finalizing { yield } else { io
    until E { set E } }
  native { new X
    hold X
    cleanup { work 1 }
    cleanup unwind { work 2 } } }
daemon w[2] { atthreadexit { loop 2 { yield } }
  forever { io } }
atexit { print "a" }
teardown { if finalizing { work 3 } }
after_finalize { set F
  io }
`))
	if err != nil {
		t.Fatal(err)
	}
	n := Statements(s)
	for i := range n {
		c := scenario.Clone(s)
		var order []*scenario.Stmt
		for _, b := range c.Bodies() {
			scenario.Walk(b, func(st *scenario.Stmt) { order = append(order, st) })
		}
		want := order[i]
		in := func(body []*scenario.Stmt) bool {
			found := false
			scenario.Walk(body, func(st *scenario.Stmt) { found = found || st == want })
			return found
		}
		first, second := in(c.Threads[1].Body), in(c.Threads[2].Body) // w0, w1
		var got *scenario.Stmt
		ok := replaceNth(c, i, func(st *scenario.Stmt) []*scenario.Stmt {
			got = st
			return nil
		})
		gone := 1 + count(want.Body) + count(want.Else)
		if first {
			gone *= 2
		}
		switch {
		case second && ok:
			t.Errorf("statement %d (%s) in the second copy of w[2] was edited alone", i, want.Op)
		case second:
		case !ok || got != want:
			t.Errorf("replaceNth(%d) replaced %v, want %s", i, got, want.Op)
		case !scenario.EqualStmts(c.Threads[1].Body, c.Threads[2].Body):
			t.Errorf("removing statement %d (%s) made the copies of w[2] differ", i, want.Op)
		case Statements(c) != n-gone:
			t.Errorf("removing statement %d (%s) left %d of %d statements, want %d", i, want.Op, Statements(c), n, n-gone)
		}
	}
	if replaceNth(scenario.Clone(s), n, func(st *scenario.Stmt) []*scenario.Stmt { return nil }) {
		t.Errorf("replaceNth(%d) found a statement past the end", n)
	}
}

// Every block statement of the language (scenario.Syntaxes) is entered by
// the minimizer: its body and its else block are reached by replaceNth,
// so that statements in them can be removed. Generated from the table, so
// a new block statement is covered without editing the test.
func TestMinimizerReachesEveryStatementsBlocks(t *testing.T) {
	for _, syn := range scenario.Syntaxes {
		if !syn.Body {
			continue
		}
		st := &scenario.Stmt{Op: syn.Op, Name: "x", N: 1, Body: []*scenario.Stmt{{Op: scenario.OpIO}}}
		if syn.Else {
			st.Else = []*scenario.Stmt{{Op: scenario.OpIO}}
		}
		s := &scenario.Scenario{Name: "s", Threads: []*scenario.ThreadDecl{{Kind: scenario.Main, Name: "main", Body: []*scenario.Stmt{st}}}}
		for i := 1; i < Statements(s); i++ {
			c := scenario.Clone(s)
			var hit *scenario.Stmt
			if !replaceNth(c, i, func(x *scenario.Stmt) []*scenario.Stmt { hit = x; return nil }) || hit == nil || hit.Op != scenario.OpIO {
				t.Errorf("%s: replaceNth(%d) reached %v, want the io inside its blocks", syn.Op, i, hit)
			}
		}
		if want := 2 + len(st.Else); Statements(s) != want {
			t.Errorf("%s: %d statements counted, want %d", syn.Op, Statements(s), want)
		}
	}
}
