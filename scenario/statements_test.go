package scenario

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// The v2 scenarios join validScenarios, so that the round trips through
// the printer and the fuzz encoder, and the fuzzers' seeds, cover them.
func init() {
	validScenarios["v2-part1"] = `scenario "v2 spawn nowait, print flush, release presets"
preset cpython-3.12.3 debug
main {
  spawn w nowait
  spawn w
  print flush "x"
  print "flush"
}
thread w {
  print flush ""
}
`
	validScenarios["v2-statements"] = `scenario "v2 statements"
preset cpython-3.13.8 debug
main {
  new X
  publish X
  spawn w
  spawn g nowait
  if finalizing {
    yield
  } else {
    set E
  }
  if finalizing {
    print "late"
  }
  until E {
    work 1
  }
  join w
}

daemon w[3] {
  atthreadexit {
    decref X
  }
  native nounwind catchall {
    hold X
    cleanup unwind {
      unlock L
    }
    cleanup {
      yield
    }
  }
  park
}

foreign g {
  lock L
  if finalizing {} else {}
  park
}

after_finalize {
  set E
  unlock L
}

after_finalize {
  yield
}
`
}

func TestPresetVersion(t *testing.T) {
	tests := []struct {
		name         string
		minor, patch int
		ok           bool
	}{
		{"cpython-3.8", 8, -1, true},
		{"cpython-3.14", 14, -1, true},
		{"cpython-3.12.0", 12, 0, true},
		{"cpython-3.13.8", 13, 8, true},
		{"cpython-3.10.999", 10, 999, true},
		{"cpython-3.10.1000", 0, 0, false},
		{"cpython-3.7", 0, 0, false},
		{"cpython-3.15", 15, -1, true}, {"cpython-3.16", 0, 0, false},
		{"cpython-3.12.03", 0, 0, false},
		{"cpython-3.012", 0, 0, false},
		{"cpython-3.12.", 0, 0, false},
		{"cpython-3.12.1.1", 0, 0, false},
		{"cpython-3.12.x", 0, 0, false},
		{"cpython-4.12", 0, 0, false},
		{"posix", 0, 0, false},
		{"debug", 0, 0, false},
	}
	for _, tt := range tests {
		minor, patch, ok := PresetVersion(tt.name)
		if minor != tt.minor || patch != tt.patch || ok != tt.ok {
			t.Errorf("PresetVersion(%q) = %d, %d, %v; want %d, %d, %v", tt.name, minor, patch, ok, tt.minor, tt.patch, tt.ok)
		}
	}
	for _, p := range append(Presets, "cpython-3.13.7", "cpython-3.9.0") {
		if !IsPreset(p) {
			t.Errorf("IsPreset(%q) = false", p)
		}
	}
	for _, p := range []string{"cpython-3.7", "cpython-3.13.07", "Debug", ""} {
		if IsPreset(p) {
			t.Errorf("IsPreset(%q) = true", p)
		}
	}
	for _, p := range fuzzPresets {
		if !IsPreset(p) {
			t.Errorf("decoder preset %q is not a preset", p)
		}
	}
}

// v2Errors are bad inputs of the v2 syntax, with their exact errors.
var v2Errors = []parseError{
	{"spawn modifier", "main { spawn t wait }\nthread t {}\n", `t.scn:2:16: unknown spawn modifier "wait" (want nowait)`},
	{"spawn two modifiers", "main { spawn t nowait nowait }\nthread t {}\n", `t.scn:2:23: duplicate nowait`},
	{"join nowait", "main { join t nowait }\nthread t {}\n", `t.scn:2:15: unexpected "nowait" after join statement`},
	{"print flush without text", "main { print flush }\n", `t.scn:2:20: expected a quoted string after print, found }`},
	{"print word", "main { print fast \"x\" }\n", `t.scn:2:14: expected a quoted string after print, found "fast"`},
	{"preset patch leading zero", "preset cpython-3.12.03\nmain {}\n", `t.scn:2:1: unknown preset "cpython-3.12.03" (want cpython-3.8 ... cpython-3.15, cpython-X.Y.Z (a release of one of those, Z 0..999), posix, windows, glibc or debug)`},
}

// parseError is a bad input (what follows the scenario line) and the exact
// error Parse gives for it.
type parseError struct{ name, src, want string }

// checkParseErrors parses each case after a scenario line and checks
// that it fails with exactly its error.
func checkParseErrors(t *testing.T, cases []parseError) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("t.scn", []byte("scenario \"x\"\n"+tt.src))
			if err == nil {
				t.Fatalf("parsed without error:\n%s", Print(s))
			}
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParseErrorsV2(t *testing.T) { checkParseErrors(t, v2Errors) }

func TestValidateModifiers(t *testing.T) {
	main := func(st *Stmt) *Scenario {
		return &Scenario{Name: "x", Threads: []*ThreadDecl{{Kind: Main, Name: "main", Body: []*Stmt{st}}}}
	}
	if err := Validate(main(&Stmt{Op: OpLock, Name: "L", Nowait: true})); err == nil || !strings.Contains(err.Error(), "nowait on a lock") {
		t.Errorf("nowait on lock: %v", err)
	}
	if err := Validate(main(&Stmt{Op: OpYield, Flush: true})); err == nil || !strings.Contains(err.Error(), "flush on a yield") {
		t.Errorf("flush on yield: %v", err)
	}
}

func TestDecodeModifiers(t *testing.T) {
	// presets: 2 of them, 11 (cpython-3.12.1) and 20 (debug); no policy or
	// callback; one thread; main: spawn with bit 7, print with bit 7.
	b := []byte{2, 10, 20, 0, 0, 1, 0, 0, 0, 0, 2, opByte(OpSpawn), 128, opByte(OpPrint), 129, 0}
	s := Decode(b)
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Presets, " ") != "cpython-3.12.1 debug" {
		t.Errorf("presets %v", s.Presets)
	}
	got := string(PrintStmts(s.Threads[0].Body))
	if got != "spawn t1 nowait\nprint flush \"\"\n" {
		t.Errorf("main body:\n%s", got)
	}
}

func TestParseV2Fields(t *testing.T) {
	s, err := Parse("v2.scn", []byte(validScenarios["v2-statements"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Threads) != 5 {
		t.Fatalf("%d threads, want main, w0, w1, w2, g", len(s.Threads))
	}
	for i, want := range []string{"main", "w0", "w1", "w2", "g"} {
		if s.Threads[i].Name != want {
			t.Errorf("thread %d is %q, want %q", i, s.Threads[i].Name, want)
		}
	}
	w1 := s.Threads[2]
	if w1.Group != "w" || w1.Copies != 3 || w1.Kind != Daemon || w1.Pos != (Pos{22, 1}) {
		t.Errorf("copy w1: %+v", w1)
	}
	if &w1.Body[0] == &s.Threads[1].Body[0] || !EqualStmts(w1.Body, s.Threads[1].Body) {
		t.Error("copies must have equal, separate bodies")
	}
	if got := s.Named("w"); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Errorf("Named(w) = %v", got)
	}
	if got := s.Named("g"); len(got) != 1 || got[0] != 4 {
		t.Errorf("Named(g) = %v", got)
	}
	if got := s.Named("x"); got != nil {
		t.Errorf("Named(x) = %v", got)
	}
	main := s.Threads[0].Body
	if !main[3].Nowait || main[4].Op != OpIf || len(main[4].Else) != 1 || main[5].Else != nil {
		t.Errorf("main: %s", PrintStmts(main))
	}
	if main[6].Op != OpUntil || main[6].Name != "E" {
		t.Errorf("until: %+v", main[6])
	}
	nat := w1.Body[1]
	if !nat.Nounwind || !nat.Catchall || nat.Noexcept || !nat.Body[1].OnUnwind || nat.Body[2].OnUnwind {
		t.Errorf("native: %s", PrintStmts([]*Stmt{nat}))
	}
	if len(s.AfterFinalize) != 2 || len(s.AfterFinalize[0].Body) != 2 {
		t.Errorf("after_finalize: %+v", s.AfterFinalize)
	}
	n := 0
	Walk(main, func(*Stmt) { n++ })
	if n != 12 {
		t.Errorf("Walk visits %d statements of main, want 12 (else blocks included)", n)
	}
}

// v2Bad are bad inputs of the v2 statements.
var v2Bad = []parseError{
	{"park in main", "main {\n  park\n}\n", `t.scn:3:3: park is not allowed in main (it would block the process for ever; park stands in a thread, daemon or foreign block)`},
	{"park in atexit", "main {}\natexit { park }\n", `t.scn:3:10: park is allowed only in a thread, daemon or foreign block (atexit runs on main)`},
	{"park in after_finalize", "main {}\nafter_finalize { park }\n", `t.scn:3:18: park is allowed only in a thread, daemon or foreign block (after_finalize runs on main)`},
	{"park in atthreadexit", "main {}\nthread t { atthreadexit { park } }\n", `t.scn:3:27: park is not allowed inside atthreadexit (it may run on main)`},
	{"park operand", "main {}\nthread t { park 3 }\n", `t.scn:3:17: unexpected "3" after park statement`},
	{"cleanup unwind outside native", "main {\n  cleanup unwind { yield }\n}\n", `t.scn:3:3: cleanup must stand directly inside native`},
	{"cleanup modifier", "main { native { cleanup always { } } }\n", `t.scn:2:25: unknown cleanup modifier "always" (want unwind)`},
	{"after_finalize inside a thread", "main {}\nthread t {\n  after_finalize { }\n}\n", `t.scn:4:3: unknown statement "after_finalize"`},
	{"spawn in after_finalize", "main {}\nthread t {}\nafter_finalize { spawn t }\n", `t.scn:4:18: spawn is not allowed in after_finalize (there is no interpreter left to start a thread)`},
	{"exit in after_finalize", "main {}\nafter_finalize { exit }\n", `t.scn:3:18: exit is allowed only in main`},
	{"atthreadexit in main", "main {\n  atthreadexit { }\n}\n", `t.scn:3:3: atthreadexit is allowed only in a thread, daemon or foreign block, not in main`},
	{"atthreadexit in teardown", "main {}\nteardown { atthreadexit { } }\n", `t.scn:3:12: atthreadexit is allowed only in a thread, daemon or foreign block, not in teardown`},
	{"nested atthreadexit", "main {}\ndaemon d { atthreadexit { atthreadexit { } } }\n", `t.scn:3:27: atthreadexit is not allowed inside atthreadexit`},
	{"if without finalizing", "main { if E { } }\n", `t.scn:2:11: expected finalizing or guarded after if, found "E"`},
	{"if without block", "main { if finalizing yield }\n", `t.scn:2:22: expected { after if finalizing, found "yield"`},
	{"else alone", "main {\n  else { }\n}\n", `t.scn:3:3: else without if (else follows the } of an if block, on the same line)`},
	{"else on next line", "main {\n  if finalizing { }\n  else { }\n}\n", `t.scn:4:3: else without if (else follows the } of an if block, on the same line)`},
	{"else without block", "main { if finalizing { } else yield }\n", `t.scn:2:31: expected { after else, found "yield"`},
	{"until without event", "main { until { } }\n", `t.scn:2:14: expected a name after until, found {`},
	{"until without block", "main { until E }\n", `t.scn:2:16: expected { after until E, found }`},
	{"native nounwind twice", "main { native nounwind nounwind { } }\n", `t.scn:2:24: duplicate nounwind`},
	{"zero copies", "main {}\ndaemon w[0] {}\n", `t.scn:3:10: copy count 0 out of range (1..64)`},
	{"too many copies", "main {}\nthread w[65] {}\n", `t.scn:3:10: copy count 65 out of range (1..64)`},
	{"bad copies", "main {}\nthread w[x] {}\n", `t.scn:3:10: expected a number after w[, found "x"`},
	{"unclosed copies", "main {}\nthread w[2 {}\n", `t.scn:3:12: expected ] after w[2, found {`},
	{"main replicated", "main[2] {}\n", `t.scn:2:5: expected { after main, found [`},
	{"copy name taken", "main {}\ndaemon w[2] {}\nthread w1 {}\n", `t.scn:4:1: duplicate thread name "w1" (first at 3:1)`},
	{"group name taken", "main {}\nthread w {}\ndaemon w[2] {}\n", `t.scn:4:1: replicated block w[2] has the name of thread "w" (at 3:1)`},
	{"group twice", "main {}\ndaemon w[1] {}\ndaemon w[1] {}\n", `t.scn:4:1: duplicate thread name "w0" (first at 3:1)`},
	{"spawn undefined group", "main { spawn w }\ndaemon v[2] {}\n", `t.scn:2:8: spawn of undefined thread "w"`},
	{"bracket elsewhere", "main { work [1] }\n", `t.scn:2:13: expected a number after work, found [`},
}

func TestParseErrorsV2Statements(t *testing.T) { checkParseErrors(t, v2Bad) }

func TestValidateBuiltV2(t *testing.T) {
	th := func(name, group string, copies int, body ...*Stmt) *ThreadDecl {
		return &ThreadDecl{Kind: Daemon, Name: name, Group: group, Copies: copies, Body: body}
	}
	mainT := &ThreadDecl{Kind: Main, Name: "main"}
	tests := []struct {
		name    string
		threads []*ThreadDecl
		body    *Stmt
		want    string
	}{
		{"missing copy", []*ThreadDecl{mainT, th("w0", "w", 2)}, nil, "copy 1 of w[2] is missing or differs"},
		{"copy differs", []*ThreadDecl{mainT, th("w0", "w", 2), th("w1", "w", 2, &Stmt{Op: OpYield})}, nil, "copy 1 of w[2] is missing or differs"},
		{"copy out of place", []*ThreadDecl{mainT, th("w1", "w", 2)}, nil, "thread w1 is a copy of w[2] out of place"},
		{"copies range", []*ThreadDecl{mainT, th("w0", "w", 99)}, nil, "copy count 99 out of range (1..64)"},
		{"main replicated", []*ThreadDecl{{Kind: Main, Name: "main", Group: "m", Copies: 1}}, nil, "main cannot be replicated"},
		{"else on loop", []*ThreadDecl{mainT}, &Stmt{Op: OpLoop, N: 1, Else: []*Stmt{{Op: OpYield}}}, "else on a loop statement (only if has it)"},
		{"nounwind on cleanup", []*ThreadDecl{mainT}, &Stmt{Op: OpNative, Body: []*Stmt{{Op: OpCleanup, Nounwind: true}}}, "nounwind on a cleanup statement (only native has it)"},
		{"unwind on native", []*ThreadDecl{mainT}, &Stmt{Op: OpNative, OnUnwind: true}, "unwind on a native statement (only cleanup has it)"},
		{"else too deep", []*ThreadDecl{mainT}, func() *Stmt {
			st := &Stmt{Op: OpIf}
			st.Else = []*Stmt{st}
			return st
		}(), "blocks nested deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Scenario{Name: "x", Threads: tt.threads}
			if tt.body != nil {
				s.Threads = []*ThreadDecl{{Kind: Main, Name: "main", Body: []*Stmt{tt.body}}}
			}
			if err := Validate(s); err == nil || err.Error() != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestPrintV2(t *testing.T) {
	src := "scenario \"p\"\nmain {\n  spawn w\n}\nthread w[2] { if finalizing { yield } else { park } }\n"
	s, err := Parse("p.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `scenario "p"

main {
  spawn w
}

thread w[2] {
  if finalizing {
    yield
  } else {
    park
  }
}
`
	if got := string(Print(s)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// The else blocks of PEP 788's block statements print back (the printer
// used to write an else only for if finalizing, so a printed, minimized or
// decoded scenario lost them).
func TestPrintElseOfGuardBlocks(t *testing.T) {
	src := "scenario \"p\"\npreset cpython-3.15\nmain {\n  spawn w\n}\n" +
		"foreign w {\n  interp_guard G { yield } else { set a }\n  ensure view { work 1 } else { set b }\n  if guarded G { close G } else { yield }\n  interp_guard H { yield }\n}\n"
	s, err := Parse("p.scn", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `scenario "p"
preset cpython-3.15

main {
  spawn w
}

foreign w {
  interp_guard G {
    yield
  } else {
    set a
  }
  ensure view {
    work 1
  } else {
    set b
  }
  if guarded G {
    close G
  } else {
    yield
  }
  interp_guard H {
    yield
  }
}
`
	if got := string(Print(s)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	checkPrintRoundTrip(t, s)
}

// The decoder generates every statement, modifier and block, and every
// preset it draws.
func TestDecodeGeneratesV2(t *testing.T) {
	seen := map[string]bool{}
	mark := func(st *Stmt) {
		seen[st.Op.String()] = true
		for _, m := range []struct {
			on   bool
			name string
		}{{st.Nowait, "nowait"}, {st.Flush, "flush"}, {st.Nounwind, "nounwind"}, {st.OnUnwind, "cleanup unwind"}, {len(st.Else) > 0, "else"}} {
			if m.on {
				seen[m.name] = true
			}
		}
	}
	state := uint64(1)
	for range 20000 {
		data := make([]byte, 200)
		for i := range data {
			state = state*6364136223846793005 + 1442695040888963407
			data[i] = byte(state >> 56)
			if i > 1 && state>>40%16 == 0 {
				data[i] = extendedCode // statements with codes past the one-byte ones
			}
		}
		if state>>32%2 == 0 { // half the inputs as the newest release
			data[0], data[1] = 1, byte(slices.Index(fuzzPresets, releasePresets()[len(releasePresets())-1]))
		}
		s := Decode(data)
		for _, body := range s.Bodies() {
			Walk(body, mark)
		}
		for _, t := range s.Threads {
			if t.Copies > 0 {
				seen["NAME[N]"] = true
			}
		}
		if len(s.AfterFinalize) > 0 {
			seen["after_finalize"] = true
		}
		for _, p := range s.Presets {
			seen["preset "+p] = true
		}
	}
	want := []string{"nowait", "flush", "nounwind", "cleanup unwind", "else", "NAME[N]", "after_finalize"}
	for op := OpInvalid + 1; op < numOps; op++ {
		want = append(want, op.String())
	}
	for _, p := range fuzzPresets {
		want = append(want, "preset "+p)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("the decoder never generated %s", w)
		}
	}
}

func TestEncodeOutOfBoundsV2(t *testing.T) {
	head := "scenario \"x\"\n"
	tests := []struct{ name, src, want string }{
		{"copies", head + "main {}\ndaemon w[4] {}\n", "w[4] (max 3 copies)"},
		{"one copy", head + "main { spawn w1 }\ndaemon w[2] {}\n", "spawn w1 names one copy of a replicated block"},
		{"preset", head + "preset cpython-3.12.5\nmain {}\n", "preset cpython-3.12.5 is not one the decoder draws"},
		{"after_finalize", head + "main {}\nafter_finalize {}\nafter_finalize {}\nafter_finalize {}\n", "0 atexit, 0 teardown and 3 after_finalize blocks (max 2 each)"},
		{"else depth", head + "main { loop 1 { loop 1 { loop 1 { if finalizing { } else { if finalizing {} else { yield } } } } } }\n", "more than 4 nested blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("x.scn", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if _, err = Encode(s); !errors.Is(err, ErrOutOfBounds) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an ErrOutOfBounds with %q", err, tt.want)
			}
		})
	}
}

// A replicated block's copies take names that no other thread has: the
// decoder moves the block to a default name when they clash.
func TestDecodeGroupNames(t *testing.T) {
	s := &Scenario{
		Name: "g",
		Threads: []*ThreadDecl{
			{Kind: Main, Name: "main"},
			{Kind: Thread, Name: "w1"},
			{Kind: Daemon, Name: "v0", Group: "v", Copies: 2},
			{Kind: Daemon, Name: "v1", Group: "v", Copies: 2},
		},
	}
	b, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	// Rename the group v to w: its copies w0, w1 would clash with w1.
	i := bytes.Index(b, []byte("\x01v"))
	if i < 0 {
		t.Fatalf("group name not in the encoding %q", b)
	}
	b = bytes.Clone(b)
	b[i+1] = 'w'
	d := Decode(b)
	if err := Validate(d); err != nil {
		t.Fatalf("%v\n%s", err, Print(d))
	}
	var names []string
	for _, th := range d.Threads {
		names = append(names, th.Name)
	}
	if got := strings.Join(names, " "); got != "main w1 t20 t21" {
		t.Fatalf("threads %s", got)
	}
}
