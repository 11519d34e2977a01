package runtime_test

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var structureAll = flag.Bool("sfz.structure-all", false, "TestEveryStatementInEveryBlock: every policy under every preset group, even for runs in which no thread met the policy")

// structurePresets are the preset groups of the structural property test:
// every release on either side of a fact's boundary (glibc), the abstract
// POSIX and Windows platforms, and the debug facet.
func structurePresets() [][]string {
	var out [][]string
	for _, r := range runtime.BoundaryPresets {
		out = append(out, []string{r})
	}
	return append(out, []string{"posix"}, []string{"cpython-3.12", "windows"}, []string{"cpython-3.12", "debug"}, []string{"cpython-3.14", "debug"})
}

// placeCase is one statement standing in one place.
type placeCase struct {
	stmt, place string
	s           *scenario.Scenario
}

// TestEveryStatementInEveryBlock is the structural property test: every
// statement of the language (scenario.Syntaxes, with each modifier) in
// every place a statement can stand (each top-level block of
// scenario.TopBlocks, directly and inside every block statement: native
// and its modifiers, cleanup and cleanup unwind, loop, forever, until, if
// and its else, atthreadexit), under every preset group and every policy,
// either is rejected by the parser with file:line:col, or runs to an
// outcome: never a panic, never an internal error of the model. Runs in
// which no thread met the policy are the same under every policy (the
// runtime reads the policy only in a strike; fuzz's
// TestStrikeFreeRunsIgnorePolicy), so they run once unless
// -sfz.structure-all is set. Under the race detector each case runs under
// a quarter of the preset groups, rotating (CI also runs the test without
// it, in full).
func TestEveryStatementInEveryBlock(t *testing.T) {
	cases := placeCases()
	presets := structurePresets()
	posErr := regexp.MustCompile(`^structure\.scn:\d+:\d+: `)
	runs, rejected := 0, 0
	stmts, places := map[string]bool{}, map[string]bool{}
	for i, c := range cases {
		stmts[c.stmt], places[c.place] = true, true
		src := scenario.Print(c.s)
		s, err := scenario.Parse("structure.scn", src)
		if err != nil {
			rejected++
			if !posErr.MatchString(err.Error()) {
				t.Errorf("%s in %s: the parser's error has no file:line:col: %v", c.stmt, c.place, err)
			}
			continue
		}
		for j, p := range presets {
			if raceEnabled && (i+j)%4 != 0 {
				continue // a quarter of the groups per case under -race; go test ./runtime runs them all
			}
			s.Presets = p
			runs += runEveryPolicy(t, s, c, src)
		}
	}
	t.Logf("%d statements × %d places = %d cases (%d rejected by the parser) × %d preset groups: %d runs",
		len(stmts), len(places), len(cases), rejected, len(presets), runs)
	if len(places) < len(scenario.TopBlocks)*10 {
		t.Errorf("only %d places", len(places))
	}
}

// othersFirst is a schedule that runs the highest-numbered runnable
// thread: the started threads run their bodies before main goes on, so
// that what a body registers (an atthreadexit block, a lock it holds) is
// there when finalization begins.
type othersFirst struct{}

func (othersFirst) Choose(runnable []int, cur int) int { return runnable[len(runnable)-1] }

// runEveryPolicy runs s under each policy, with the default schedule
// (random 0) and with othersFirst, and fails on an error of the model; it
// returns the number of runs.
func runEveryPolicy(t *testing.T, s *scenario.Scenario, c placeCase, src []byte) int {
	t.Helper()
	runs := 0
	for _, strat := range []chaos.Strategy{nil, othersFirst{}} {
		runs += runPolicies(t, s, c, src, strat)
	}
	return runs
}

func runPolicies(t *testing.T, s *scenario.Scenario, c placeCase, src []byte, strat chaos.Strategy) int {
	t.Helper()
	runs := 0
	for _, p := range scenario.Policies {
		r, err := runtime.Run(s, runtime.Config{Policy: p, MaxSteps: 3000, Strategy: strat, StrategyName: "others first"})
		runs++
		switch {
		case errors.Is(err, runtime.ErrInternal):
			t.Errorf("%s in %s, preset %s: %v\n%s", c.stmt, c.place, strings.Join(s.Presets, " "), err, src)
			return runs
		case err != nil:
			t.Fatalf("%s in %s: %v", c.stmt, c.place, err)
		case r.Outcome == "":
			t.Errorf("%s in %s, policy %s: a run without an outcome", c.stmt, c.place, p)
		}
		if r != nil && r.Strikes == 0 && !*structureAll {
			break
		}
	}
	return runs
}

// placeCases builds a scenario for every statement variant in every place.
func placeCases() []placeCase {
	var out []placeCase
	for _, top := range scenario.TopBlocks {
		for _, w := range wrappers() {
			for _, v := range stmtVariants() {
				for _, live := range []bool{false, true} {
					place := top.Name
					if w.name != "" {
						place += " > " + w.name
					}
					body := []*scenario.Stmt{v.make()}
					if w.wrap != nil {
						body = w.wrap(body)
					}
					if live && top.Thread && top.Kind != scenario.Main && top.Kind != scenario.Thread {
						// A daemon or foreign thread still alive when
						// finalization begins: its thread-local
						// destructors run on main (atthreadexit).
						place += " (then still running)"
						body = append(body, &scenario.Stmt{Op: scenario.OpForever, Body: []*scenario.Stmt{{Op: scenario.OpIO}}})
					} else if live {
						continue
					}
					out = append(out, placeCase{stmt: v.name, place: place, s: skeleton(top, body)})
				}
			}
		}
	}
	return out
}

type stmtVariant struct {
	name string
	make func() *scenario.Stmt
}

// stmtVariants is every statement, plain and with each of its modifiers,
// with its operand and, for a block statement, a body of one yield.
func stmtVariants() []stmtVariant {
	var out []stmtVariant
	for _, syn := range scenario.Syntaxes {
		mods := append([]scenario.Modifier{{}}, syn.Modifiers...)
		for _, m := range mods {
			syn, m := syn, m
			name := withOperand(&scenario.Stmt{Op: syn.Op}, syn.Arg).String() // "ensure G", "if guarded G"
			if syn.Body {
				name += " { }"
			}
			if m.Word != "" {
				name += " " + m.Word
			}
			out = append(out, stmtVariant{name, func() *scenario.Stmt {
				st := withOperand(&scenario.Stmt{Op: syn.Op}, syn.Arg)
				if m.Flag != nil {
					*m.Flag(st) = true
				}
				if syn.Body {
					st.Body = []*scenario.Stmt{{Op: scenario.OpYield}}
				}
				return st
			}})
		}
	}
	return out
}

// withOperand gives st the skeleton's name for its operand: the thread x,
// the object o, the lock L, the event E, a count of 2, exit code 3.
func withOperand(st *scenario.Stmt, a scenario.Arg) *scenario.Stmt {
	switch a {
	case scenario.ArgThread:
		st.Name = "x"
	case scenario.ArgObject:
		st.Name = "o"
	case scenario.ArgLock:
		st.Name = "L"
	case scenario.ArgEvent:
		st.Name = "E"
	case scenario.ArgCount:
		st.N = 2
	case scenario.ArgCode:
		st.N = 3
	case scenario.ArgText:
		st.Text = "hi"
	}
	return st
}

type wrapper struct {
	name string
	wrap func(body []*scenario.Stmt) []*scenario.Stmt
}

// wrappers is every block a statement can stand in inside a top-level
// block: none (directly), and each block statement of scenario.Syntaxes
// with each of its modifiers, then (when it has one) its else block. A
// block statement that must stand inside another is put inside it.
func wrappers() []wrapper {
	out := []wrapper{{}}
	for _, v := range stmtVariants() {
		syn, _ := scenario.SyntaxOf(v.make().Op)
		if !syn.Body {
			continue
		}
		for _, inElse := range []bool{false, true} {
			if inElse && !syn.Else {
				continue
			}
			v, name := v, v.name
			if inElse {
				name += " else"
			}
			out = append(out, wrapper{name, func(body []*scenario.Stmt) []*scenario.Stmt {
				st := v.make()
				st.Body = body
				if inElse {
					st.Body, st.Else = []*scenario.Stmt{{Op: scenario.OpYield}}, body
				}
				if syn.Inside != scenario.OpInvalid {
					st = &scenario.Stmt{Op: syn.Inside, Body: []*scenario.Stmt{st}}
				}
				return []*scenario.Stmt{st}
			}})
		}
	}
	return out
}

// skeleton is a scenario in which body stands in a block of kind top. Main
// prints (so that finalization's flush writes), creates and publishes the
// object o and starts the threads; the daemon x is the target of spawn
// and join; a thread block holding body starts with a work step, so that
// it may still run when finalization begins.
func skeleton(top scenario.TopBlock, body []*scenario.Stmt) *scenario.Scenario {
	st := func(op scenario.Op, name string) *scenario.Stmt { return &scenario.Stmt{Op: op, Name: name, N: 1} }
	main := &scenario.ThreadDecl{Kind: scenario.Main, Name: "main", Body: []*scenario.Stmt{
		{Op: scenario.OpPrint, Text: "m"}, st(scenario.OpNew, "o"), st(scenario.OpPublish, "o"),
	}}
	s := &scenario.Scenario{Name: "structure", Threads: []*scenario.ThreadDecl{main}}
	x := &scenario.ThreadDecl{Kind: scenario.Daemon, Name: "x", Body: []*scenario.Stmt{st(scenario.OpWork, "")}}
	switch {
	case top.Kind == scenario.Main && top.Thread:
		main.Body = append(main.Body, body...)
	case top.Replicated:
		copies := 2
		for i := range copies {
			s.Threads = append(s.Threads, &scenario.ThreadDecl{Kind: top.Kind, Name: fmt.Sprintf("w%d", i), Group: "w", Copies: copies,
				Body: append([]*scenario.Stmt{st(scenario.OpWork, "")}, scenario.CloneStmts(body)...)})
		}
		main.Body = append(main.Body, st(scenario.OpSpawn, "w"))
	case top.Thread:
		s.Threads = append(s.Threads, &scenario.ThreadDecl{Kind: top.Kind, Name: "t", Body: append([]*scenario.Stmt{st(scenario.OpWork, "")}, body...)})
		main.Body = append(main.Body, st(scenario.OpSpawn, "t"))
	case top.Name == "atexit":
		s.Atexit = []*scenario.Block{{Body: body}}
	case top.Name == "teardown":
		s.Teardown = []*scenario.Block{{Body: body}}
	case top.Name == "after_finalize":
		s.AfterFinalize = []*scenario.Block{{Body: body}}
	default:
		panic("structure test: no skeleton for top-level block " + top.Name)
	}
	s.Threads = append(s.Threads, x)
	main.Body = append(main.Body, st(scenario.OpSpawn, "x"), st(scenario.OpWork, ""))
	return s
}

// brokenStrategy breaks an invariant of the model on purpose: at its
// third choice it panics, as a model bug would, on a thread's goroutine.
type brokenStrategy struct{ n int }

func (b *brokenStrategy) Choose(runnable []int, cur int) int {
	if b.n++; b.n == 3 {
		panic("a broken invariant")
	}
	return runnable[0]
}

// A broken invariant of the model is an error that names it and the
// command that reproduces it (the schedule up to the failure), never a Go
// panic that kills the process: the known positive of Run's recovery.
func TestBrokenInvariantIsAnError(t *testing.T) {
	s := parse(t, `scenario "broken"
preset cpython-3.12
main {
  spawn d
  work 3
}
daemon d { forever { io } }`)
	r, err := runtime.Run(s, runtime.Config{Policy: "hang", Strategy: &brokenStrategy{}})
	var ie *runtime.InternalError
	if r != nil || !errors.As(err, &ie) || !errors.Is(err, runtime.ErrInternal) {
		t.Fatalf("Run = %v, %v; want an *InternalError", r, err)
	}
	msg := runtime.WithFile(err, "my file.scn").Error()
	for _, want := range []string{"a broken invariant", "structure_test.go:", "shutdownfuzz run -preset 'cpython-3.12' -policy hang -schedule 'replay 0 1' 'my file.scn'"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
}

// Every statement of the language has semantics registered in the model
// (stmt.go): a statement added to scenario.Syntaxes without them fails
// here, not in the middle of a run.
func TestEveryStatementHasSemantics(t *testing.T) {
	for _, syn := range scenario.Syntaxes {
		if !runtime.HasSemantics(syn.Op) {
			t.Errorf("%s: no semantics in runtime", syn.Op)
		}
	}
}
