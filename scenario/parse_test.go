package scenario

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// validScenarios are hand-written scenarios in every corner of the syntax.
var validScenarios = map[string]string{
	"daemon-hold": `# a daemon holds a smart pointer across shutdown
scenario "daemon-hold"
preset cpython-3.12 glibc
policy unwind

main {
  new X
  publish X
  spawn d
  work 3
  print "bye\n"
  exit
}

daemon d {
  local Y
  native noexcept catchall {
    hold Y
    lock L
    cleanup { unlock L }
  }
  loop 3 { work 1 }
  forever { use X }
}
expect unwind: abort, corruption
expect hang: clean
schedule replay 0 1 1 0
`,
	"foreign-ensure": `scenario "foreign \"ensure\" after finalize"
callback terminate-thread
foreign f {
	ensure
	use O
	unensure
}
main {
	new O
	publish O
	spawn f
	set E
	exit 3
}
teardown { guard O }
atexit {
  wait E
}
atexit { io }
schedule pct 3 18446744073709551615
`,
	"minimal": `scenario "m"
main {
}
`,
	"everything": `scenario "all\tops ☃"
preset windows
policy terminate
callback return
thread t1 {
  acquire
  release
  io
  yield
  join t2
}
thread t2 {
  native {
    native noexcept {
      hold A
    }
    cleanup {
      native catchall {}
    }
  }
}
atexit { print "" }
main {
  new A
  local B
  incref A
  decref A
  guard B
  spawn t1
  spawn t2
  lock M
  unlock M
  loop 2 {
    exit 255
  }
  wait E
  set E
}
schedule stream 0 255 7
`,
	"random-schedule": `scenario "r" # trailing comment
main { work 1000000 }
schedule random 0
`,
	"empty-replay": "scenario \"e\"\r\nmain {\r\n  yield\r\n}\r\nschedule replay\r\n",
}

func TestParseValid(t *testing.T) {
	for name, src := range validScenarios {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(name+".scn", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			checkPrintRoundTrip(t, s)
		})
	}
}

// checkPrintRoundTrip checks that Print(s) parses back to s and that
// printing is idempotent.
func checkPrintRoundTrip(t *testing.T, s *Scenario) {
	t.Helper()
	out := Print(s)
	s2, err := Parse("printed.scn", out)
	if err != nil {
		t.Fatalf("printed scenario does not parse: %v\n%s", err, out)
	}
	if !Equal(s, s2) {
		t.Fatalf("printed scenario parses to a different one:\n%s\nreprinted:\n%s", out, Print(s2))
	}
	if out2 := Print(s2); !bytes.Equal(out, out2) {
		t.Fatalf("printing is not idempotent:\n%s\nthen:\n%s", out, out2)
	}
}

func TestParseFields(t *testing.T) {
	s, err := Parse("x.scn", []byte(validScenarios["daemon-hold"]))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Presets, " "); got != "cpython-3.12 glibc" {
		t.Errorf("presets %q", got)
	}
	if s.Policy != "unwind" || s.PolicyPos != (Pos{4, 1}) {
		t.Errorf("policy %q at %v", s.Policy, s.PolicyPos)
	}
	if len(s.Threads) != 2 || s.Threads[1].Kind != Daemon || s.Threads[1].Name != "d" || s.Threads[1].Pos != (Pos{15, 1}) {
		t.Fatalf("threads %+v", s.Threads)
	}
	exit := s.Threads[0].Body[5]
	if exit.Op != OpExit || exit.N != 0 || exit.Pos != (Pos{12, 3}) {
		t.Errorf("bare exit: %+v", exit)
	}
	native := s.Threads[1].Body[1]
	if !native.Noexcept || !native.Catchall || len(native.Body) != 3 || native.Body[2].Op != OpCleanup {
		t.Errorf("native: %+v", native)
	}
	if cl := native.Body[2]; len(cl.Body) != 1 || cl.Body[0].Op != OpUnlock || cl.Body[0].Pos != (Pos{20, 15}) {
		t.Errorf("one-line cleanup: %+v", cl.Body[0])
	}
	if p := s.Threads[0].Body[4]; p.Text != "bye\n" {
		t.Errorf("print text %q", p.Text)
	}
	if sch := s.Schedule; sch.Kind != ScheduleReplay || len(sch.Choices) != 4 || sch.Choices[1] != 1 {
		t.Errorf("schedule %+v", sch)
	}
	got, ok := s.Expected("unwind")
	if !ok || !got["abort"] || !got["corruption"] || len(got) != 2 {
		t.Errorf("expected for unwind: %v %v", got, ok)
	}
	f, err := Parse("f.scn", []byte(validScenarios["foreign-ensure"]))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != `foreign "ensure" after finalize` || f.Threads[0].Kind != Main || f.Threads[1].Name != "f" {
		t.Errorf("main must be Threads[0] even when declared later: %+v", f.Threads)
	}
	if f.Schedule.Kind != SchedulePCT || f.Schedule.Depth != 3 || f.Schedule.Seed != 1<<64-1 {
		t.Errorf("pct schedule %+v", f.Schedule)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "scenario \"x\"\n"
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", `t.scn:1:1: missing scenario line: the file must start with scenario "name"`},
		{"missing scenario", "main {\n}\n", `t.scn:1:1: missing scenario line: the file must start with scenario "name"`},
		{"scenario not first", "policy hang\nscenario \"x\"\nmain {}\n", `t.scn:1:1: scenario line must come first (found policy; scenario is at 2:1)`},
		{"duplicate scenario", head + "scenario \"y\"\n", `t.scn:2:1: duplicate scenario line (first at 1:1)`},
		{"empty scenario name", "scenario \"\"\n", `t.scn:1:10: empty scenario name`},
		{"unquoted scenario name", "scenario x\n", `t.scn:1:10: expected a quoted name after scenario, found "x"`},
		{"unterminated string", head + "main {\n  print \"abc\n}\n", `t.scn:3:9: unterminated string`},
		{"bad escape", head + "main { print \"a\\qb\" }\n", `t.scn:2:16: invalid escape sequence in string`},
		{"unexpected character", head + "main { work 1 + 2 }\n", `t.scn:2:15: unexpected character '+'`},
		{"invalid UTF-8", head + "main { \xff }\n", `t.scn:2:8: invalid UTF-8`},
		{"missing main", head + "policy hang\n", `t.scn:1:1: missing main block`},
		{"duplicate main", head + "main {\n}\nmain {\n}\n", `t.scn:4:1: duplicate main block (first at 2:1)`},
		{"duplicate policy", head + "policy hang\npolicy exit\nmain {}\n", `t.scn:3:1: duplicate policy line (first at 2:1)`},
		{"unknown policy", head + "policy foo\nmain {}\n", `t.scn:2:1: unknown policy "foo" (want abort, exit, hang, unwind or terminate)`},
		{"unknown preset", head + "preset cpython-3.12 cpython-2.7\nmain {}\n", `t.scn:2:1: unknown preset "cpython-2.7" (want cpython-3.8 ... cpython-3.15, cpython-X.Y.Z (a release of one of those, Z 0..999), posix, windows, glibc or debug)`},
		{"empty preset", head + "preset\nmain {}\n", `t.scn:2:7: expected a preset name after preset, found end of line`},
		{"unknown callback", head + "callback unwind\nmain {}\n", `t.scn:2:1: unknown callback "unwind" (want hang, exit, abort, return or terminate-thread)`},
		{"unknown statement", head + "main {\n  frob X\n}\n", `t.scn:3:3: unknown statement "frob"`},
		{"unknown top-level keyword", head + "mian {}\n", `t.scn:2:1: unknown top-level keyword "mian" (want scenario, preset, policy, callback, main, thread, daemon, foreign, atexit, teardown, after_finalize, expect or schedule)`},
		{"statement at top level", head + "work 1\n", `t.scn:2:1: work statement outside a block`},
		{"spawn of undefined thread", head + "main {\n  spawn t9\n}\nthread t1 {}\n", `t.scn:3:3: spawn of undefined thread "t9"`},
		{"join main", head + "main {}\nthread t1 { join main }\n", `t.scn:3:13: cannot join main`},
		{"hold outside native", head + "main {\n  new X\n  hold X\n}\n", `t.scn:4:3: hold must stand directly inside native`},
		{"cleanup nested in loop", head + "main {\n  native {\n    loop 2 { cleanup { yield } }\n  }\n}\n", `t.scn:4:14: cleanup must stand directly inside native`},
		{"exit in a daemon", head + "main {}\ndaemon d {\n  exit 1\n}\n", `t.scn:4:3: exit is allowed only in main`},
		{"exit in atexit", head + "main {}\natexit { exit }\n", `t.scn:3:10: exit is allowed only in main`},
		{"exit inside native", head + "main {\n  native { exit 2 }\n}\n", `t.scn:3:12: exit is not allowed inside native`},
		{"exit code out of range", head + "main { exit 256 }\n", `t.scn:2:8: exit code 256 out of range (0..255)`},
		{"unclosed brace", head + "main {\n  work 1\n", `t.scn:2:6: unclosed {: missing }`},
		{"extra brace", head + "main {\n}\n}\n", `t.scn:4:1: unexpected } at top level`},
		{"missing brace", head + "main\n", `t.scn:2:5: expected { after main, found end of line`},
		{"bad number", head + "main { work 3x }\n", `t.scn:2:13: expected a number after work, found "3x"`},
		{"negative number", head + "main { loop -1 { } }\n", `t.scn:2:13: expected a number after loop, found "-1"`},
		{"number out of range", head + "main { work 99999999999999999999 }\n", `t.scn:2:13: number 99999999999999999999 out of range`},
		{"zero work", head + "main { work 0 }\n", `t.scn:2:8: work count must be at least 1`},
		{"huge loop", head + "main { loop 1000001 { } }\n", `t.scn:2:8: loop count 1000001 is too large (max 1000000)`},
		{"object never created", head + "main {\n  new X\n  use Y\n}\n", `t.scn:4:3: object "Y" is never created (by new or local)`},
		{"invalid name", head + "main { new a-b }\n", `t.scn:2:12: invalid name "a-b"`},
		{"two statements on a line", head + "main { work 1 io }\n", `t.scn:2:15: unexpected "io" after work statement`},
		{"thread named main", head + "main {}\nthread main {}\n", `t.scn:3:1: a thread cannot be named main`},
		{"duplicate thread", head + "main {}\nthread t {}\ndaemon t {}\n", `t.scn:4:1: duplicate thread name "t" (first at 3:1)`},
		{"native modifier", head + "main { native nothrow { } }\n", `t.scn:2:15: unknown native modifier "nothrow" (want noexcept, catchall or nounwind)`},
		{"duplicate modifier", head + "main { native noexcept noexcept { } }\n", `t.scn:2:24: duplicate noexcept`},
		{"trailing junk", head + "policy hang extra\nmain {}\n", `t.scn:2:13: unexpected "extra" after policy line`},
		{"junk after block", head + "main {} main\n", `t.scn:2:9: unexpected "main" after }`},
		{"expect policy", head + "main {}\nexpect unwound: clean\n", `t.scn:3:1: unknown policy "unwound" in expect (want abort, exit, hang, unwind or terminate)`},
		{"expect outcome", head + "main {}\nexpect hang: clean, crash\n", `t.scn:3:1: unknown outcome "crash" (want clean, abort, lost-cleanup, deadlock, corruption, contract or budget)`},
		{"expect colon", head + "main {}\nexpect hang clean\n", `t.scn:3:13: expected : after expect hang, found "clean"`},
		{"unknown schedule", head + "main {}\nschedule dfs 1\n", `t.scn:3:10: unknown schedule "dfs" (want random, pct, replay or stream)`},
		{"pct depth zero", head + "main {}\nschedule pct 0 1\n", `t.scn:3:1: pct depth must be at least 1`},
		{"stream byte", head + "main {}\nschedule stream 1 256\n", `t.scn:3:1: stream byte 256 out of range (0..255)`},
		{"seed out of range", head + "main {}\nschedule random 18446744073709551616\n", `t.scn:3:17: seed 18446744073709551616 out of range (max 18446744073709551615)`},
		{"duplicate schedule", head + "main {}\nschedule random 1\nschedule random 2\n", `t.scn:4:1: duplicate schedule line (first at 3:1)`},
		{"too deep", head + "main {" + strings.Repeat(" loop 1 {", MaxDepth) + " yield" + strings.Repeat(" }", MaxDepth) + " }\n", "t.scn:2:" + strconv.Itoa(8+9*MaxDepth) + `: blocks nested deeper than 64`},
		{"first error wins", head + "main {\n  use Y\n  exit 300\n}\n", `t.scn:3:3: object "Y" is never created (by new or local)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("t.scn", []byte(tt.src))
			if err == nil {
				t.Fatalf("parsed without error:\n%s", Print(s))
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is a %T, not *Error", err)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	src := append([]byte("scenario \"x\"\nmain {}\n"), bytes.Repeat([]byte("#"), MaxFileSize)...)
	_, err := Parse("big.scn", src)
	if err == nil || !strings.HasPrefix(err.Error(), "big.scn:1:1: file too large") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateBuilt(t *testing.T) {
	s := &Scenario{
		Name: "built",
		Threads: []*ThreadDecl{
			{Kind: Main, Name: "main", Body: []*Stmt{{Op: OpSpawn, Name: "t1"}}},
			{Kind: Thread, Name: "t1", Body: []*Stmt{{Op: OpWork, N: 1, Body: []*Stmt{{Op: OpYield}}}}},
		},
	}
	err := Validate(s)
	if err == nil || err.Error() != "work statement cannot have a body" {
		t.Fatalf("got %v", err)
	}
	s.Threads[1].Body[0].Body = nil
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	if err := Validate(&Scenario{Name: "x"}); err == nil || err.Error() != "missing main block" {
		t.Fatalf("got %v", err)
	}
}

func TestCloneAndStripPos(t *testing.T) {
	s, err := Parse("x.scn", []byte(validScenarios["daemon-hold"]))
	if err != nil {
		t.Fatal(err)
	}
	c := Clone(s)
	if !Equal(s, c) || c.Threads[1].Pos != s.Threads[1].Pos {
		t.Fatal("clone differs")
	}
	c.Threads[1].Body[1].Body[0].Name = "Z"
	if s.Threads[1].Body[1].Body[0].Name != "Y" {
		t.Fatal("clone shares statements")
	}
	st := StripPos(s)
	if !Equal(s, st) || st.Threads[1].Pos != (Pos{}) || st.Threads[1].Body[1].Body[2].Body[0].Pos != (Pos{}) ||
		st.PolicyPos != (Pos{}) || st.Schedule.Pos != (Pos{}) || st.Expect[0].Pos != (Pos{}) {
		t.Fatalf("StripPos left positions: %+v", st)
	}
	if s.Threads[1].Pos == (Pos{}) {
		t.Fatal("StripPos changed its argument")
	}
}

func TestEqual(t *testing.T) {
	a := &Scenario{Name: "x", Threads: []*ThreadDecl{{Kind: Main, Name: "main", Body: []*Stmt{}}}, Presets: []string{}}
	b := &Scenario{Name: "x", Threads: []*ThreadDecl{{Kind: Main, Name: "main", Pos: Pos{3, 1}}}}
	if !Equal(a, b) {
		t.Error("nil and empty slices, or positions, make a difference")
	}
	a.Schedule = &Schedule{Kind: ScheduleReplay, Seed: 9}
	b.Schedule = &Schedule{Kind: ScheduleReplay, Choices: []int{}}
	if !Equal(a, b) {
		t.Error("a replay schedule's seed makes a difference")
	}
	b.Schedule.Choices = []int{0}
	if Equal(a, b) {
		t.Error("choices make no difference")
	}
	a.Schedule, b.Schedule = nil, &Schedule{Kind: ScheduleRandom}
	if Equal(a, b) {
		t.Error("a nil schedule equals random 0")
	}
}

func TestScheduleString(t *testing.T) {
	for _, tt := range []struct {
		sch  Schedule
		want string
	}{
		{Schedule{Kind: ScheduleRandom, Seed: 42}, "schedule random 42"},
		{Schedule{Kind: SchedulePCT, Depth: 3, Seed: 42}, "schedule pct 3 42"},
		{Schedule{Kind: ScheduleReplay, Choices: []int{0, 1, 1, 0}, Seed: 5}, "schedule replay 0 1 1 0"},
		{Schedule{Kind: ScheduleStream, Choices: []int{7, 200}}, "schedule stream 7 200"},
		{Schedule{Kind: ScheduleReplay}, "schedule replay"},
	} {
		if got := tt.sch.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// seedScenarios returns the hand-written scenarios and the repository's
// scenario files, as fuzz seeds.
func seedScenarios(f *testing.F) [][]byte {
	var srcs [][]byte
	for _, src := range validScenarios {
		srcs = append(srcs, []byte(src))
	}
	files, err := filepath.Glob("../scenarios/*.scn")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		srcs = append(srcs, src)
	}
	return srcs
}

func FuzzParse(f *testing.F) {
	for _, src := range seedScenarios(f) {
		f.Add(src)
	}
	f.Add([]byte("scenario \"x\"\nmain { native { cleanup { print \"\\u263a\\x00\" } } }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("fuzz.scn", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.scn:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if err := Validate(s); err != nil {
			t.Fatalf("parsed scenario does not validate: %v", err)
		}
		checkPrintRoundTrip(t, s)
	})
}

func TestPrintStmts(t *testing.T) {
	body := []*Stmt{
		{Op: OpNative, Noexcept: true, Body: []*Stmt{{Op: OpHold, Name: "X"}, {Op: OpCleanup, Body: []*Stmt{{Op: OpPrint, Text: "a\"b"}}}}},
		{Op: OpLoop, N: 2, Body: []*Stmt{{Op: OpWork, N: 1}}},
		{Op: OpExit, N: 3},
	}
	want := `native noexcept {
  hold X
  cleanup {
    print "a\"b"
  }
}
loop 2 {
  work 1
}
exit 3
`
	if got := string(PrintStmts(body)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestValidateBuiltErrors(t *testing.T) {
	main := func(body ...*Stmt) []*ThreadDecl {
		return []*ThreadDecl{{Kind: Main, Name: "main", Body: body}}
	}
	tests := []struct {
		name string
		s    *Scenario
		want string
	}{
		{"nil", nil, "nil scenario"},
		{"no name", &Scenario{Threads: main()}, "empty scenario name"},
		{"nil statement", &Scenario{Name: "x", Threads: main(nil)}, "nil statement"},
		{"invalid op", &Scenario{Name: "x", Threads: main(&Stmt{})}, "invalid statement (op 0)"},
		{"bad name", &Scenario{Name: "x", Threads: main(&Stmt{Op: OpLock, Name: "a b"})}, `invalid name "a b" in lock`},
		{"thread kind", &Scenario{Name: "x", Threads: append(main(), &ThreadDecl{Kind: 9, Name: "t"})}, "invalid thread kind 9"},
		{"main name", &Scenario{Name: "x", Threads: []*ThreadDecl{{Kind: Main}}}, `main thread named "", not main`},
		{"replay", &Scenario{Name: "x", Threads: main(), Schedule: &Schedule{Kind: ScheduleReplay, Choices: []int{-1}}}, "replay choice -1 is negative"},
		{"schedule kind", &Scenario{Name: "x", Threads: main(), Schedule: &Schedule{Kind: 7}}, "invalid schedule kind 7"},
		{"empty expect", &Scenario{Name: "x", Threads: main(), Expect: []Expect{{Policy: "hang"}}}, "expect hang lists no outcome"},
		{"cycle", func() *Scenario {
			loop := &Stmt{Op: OpLoop, N: 1}
			loop.Body = []*Stmt{loop}
			return &Scenario{Name: "x", Threads: main(loop)}
		}(), "blocks nested deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.s)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
}
