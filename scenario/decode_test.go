package scenario

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// withoutExpect returns a copy of s without its expect lines, which the
// fuzz encoding does not carry.
func withoutExpect(s *Scenario) *Scenario {
	c := Clone(s)
	c.Expect = nil
	return c
}

func TestDecodeEmpty(t *testing.T) {
	s := Decode(nil)
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	want := "scenario \"fuzz\"\n\nmain {\n}\n\nschedule stream\n"
	if got := string(Print(s)); got != want {
		t.Fatalf("Decode(nil) =\n%s\nwant\n%s", got, want)
	}
	if b, err := Encode(s); err != nil || len(b) != 0 {
		t.Fatalf("Encode(Decode(nil)) = %v, %v; want no bytes", b, err)
	}
}

func TestDecodeFixups(t *testing.T) {
	data := []byte{
		0, 0, 0, // no preset, policy or callback
		1, 1, // one daemon
		0, 0, 0, // no atexit, teardown or after_finalize
		// main: hold o1 (no native: use, and nothing creates o1: new),
		// cleanup unwind (no native: native) { exit 7 (inside native: yield) }
		2, opByte(OpHold), 1, opByte(OpCleanup), 1, 1, opByte(OpExit), 7,
		// daemon: exit 3 (not main: yield)
		1, opByte(OpExit), 3,
		255, // no schedule
	}
	s := Decode(data)
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	want := `scenario "fuzz"

main {
  new o1
  native {
    yield
  }
}

daemon t1 {
  yield
}
`
	if got := string(Print(s)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// A preset line decodes as a person would write it: a preset drawn twice
// is named once ("preset cpython-3.11.5 cpython-3.11.5" was printed), and
// a second release replaces the first.
func TestDecodePresetLine(t *testing.T) {
	idx := func(name string) byte {
		for i, p := range fuzzPresets {
			if p == name {
				return byte(i)
			}
		}
		t.Fatalf("no fuzz preset %s", name)
		return 0
	}
	for _, c := range []struct {
		drawn []string
		want  string
	}{
		{[]string{"cpython-3.11.5", "cpython-3.11.5"}, "cpython-3.11.5"},
		{[]string{"glibc", "glibc"}, "glibc"},
		{[]string{"cpython-3.11", "cpython-3.13.7"}, "cpython-3.13.7"},
		{[]string{"windows", "cpython-3.9"}, "windows cpython-3.9"},
		{[]string{"cpython-3.12", "debug"}, "cpython-3.12 debug"},
	} {
		data := []byte{byte(len(c.drawn))}
		for _, p := range c.drawn {
			data = append(data, idx(p))
		}
		s := Decode(data)
		if got := strings.Join(s.Presets, " "); got != c.want {
			t.Errorf("drawn %v: preset %s, want %s", c.drawn, got, c.want)
		}
		again, err := Encode(s)
		if err != nil || !Equal(Decode(again), s) {
			t.Errorf("drawn %v: no round trip through Encode: %v", c.drawn, err)
		}
	}
}

func opByte(op Op) byte {
	if c := syntaxOf(op).Code; c < legacyCodes {
		return byte(c)
	}
	panic("no one-byte op code for " + op.String())
}

func TestDecodeNames(t *testing.T) {
	s := &Scenario{
		Name: "names",
		Threads: []*ThreadDecl{
			{Kind: Main, Name: "main", Body: []*Stmt{{Op: OpNew, Name: "o1"}, {Op: OpNew, Name: "obj"}}},
			{Kind: Thread, Name: "t2"},
			{Kind: Foreign, Name: "t1"},
		},
	}
	b, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	// Rename the first thread "main" and the second object "o1" by hand.
	// The first thread takes its default name t1, which the second thread
	// then cannot keep; the second object becomes o1_2.
	i := bytes.Index(b, []byte("t2"))
	j := bytes.Index(b, []byte("obj"))
	if i < 0 || j < 0 {
		t.Fatalf("names not in the encoding %q", b)
	}
	b = bytes.Clone(b)
	copy(b[j-1:], "\x02o1") // length 2, then the name, then a stray "j"
	b = append(b[:j+2], b[j+3:]...)
	b = append(b[:i-1], append([]byte("\x04main"), b[i+2:]...)...)
	d := Decode(b)
	if err := Validate(d); err != nil {
		t.Fatal(err)
	}
	if d.Threads[1].Name != "t1" || d.Threads[2].Name != "t2" {
		t.Errorf("thread names %q %q", d.Threads[1].Name, d.Threads[2].Name)
	}
	if d.Threads[0].Body[1].Name != "o1_2" {
		t.Errorf("object names: %s", PrintStmts(d.Threads[0].Body))
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for name, src := range validScenarios {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(name+".scn", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Encode(s)
			if name == "random-schedule" {
				if !errors.Is(err, ErrOutOfBounds) {
					t.Fatalf("work 1000000 encoded: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := Decode(b)
			if !Equal(d, withoutExpect(s)) {
				t.Fatalf("decoded scenario differs:\n%s\nwant\n%s", Print(d), Print(withoutExpect(s)))
			}
			b2, err := Encode(d)
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("encoding is not canonical: %v\n%q\n%q", err, b, b2)
			}
		})
	}
}

func TestEncodeOutOfBounds(t *testing.T) {
	head := "scenario \"x\"\n"
	tests := []struct{ name, src, want string }{
		{"threads", head + "main {}\nthread a {}\nthread b {}\nthread c {}\nthread d {}\nthread e {}\n", "5 thread blocks besides main (max 4)"},
		{"objects", head + "main { new a\nnew b\nnew c\nnew d\nnew e }\n", "more than 4 objects"},
		{"locks", head + "main { lock a\nlock b\nlock c }\n", "more than 2 locks"},
		{"count", head + "main { work 9 }\n", "work 9 (max 8)"},
		{"depth", head + "main { loop 1 { loop 1 { loop 1 { loop 1 { loop 1 { yield } } } } } }\n", "more than 4 nested blocks"},
		{"body", head + "main {" + strings.Repeat("\nyield", 33) + "\n}\n", "a body of 33 statements (max 32)"},
		{"statements", head + "main {" + strings.Repeat("\nyield", 32) + "\n}\natexit {" + strings.Repeat("\nyield", 32) + "\n}\nteardown { yield }\n", "more than 64 statements"},
		{"replay", head + "main {}\nschedule replay 0 1\n", "replay choice 1 names no thread"},
		{"name", head + "main { new " + strings.Repeat("x", 33) + " }\n", "longer than 32 bytes"},
		{"text", head + "main { print \"\\x01\" }\n", "not printable"},
		{"scenario name", "scenario \"" + strings.Repeat("x", 65) + "\"\nmain {}\n", "longer than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse("x.scn", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Encode(s)
			if !errors.Is(err, ErrOutOfBounds) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an ErrOutOfBounds with %q", err, tt.want)
			}
		})
	}
	if _, err := Encode(&Scenario{Name: "x"}); err == nil || errors.Is(err, ErrOutOfBounds) {
		t.Fatalf("invalid scenario: got %v, want Validate's error", err)
	}
}

func TestDecodeBounds(t *testing.T) {
	// All 0x41 bytes: big bodies everywhere. The statement budget must hold.
	s := Decode(bytes.Repeat([]byte{0x41}, 4096))
	n := 0
	for _, body := range s.Bodies() {
		Walk(body, func(*Stmt) { n++ })
	}
	if n > fuzzStmts {
		t.Fatalf("%d statements", n)
	}
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte{1, 3, 4, 7, 2, 0, 1, 1, 4, 0, 10, 1, 20, 2, 0})
	for _, src := range seedScenarios(f) {
		if s, err := Parse("seed.scn", src); err == nil {
			if b, err := Encode(s); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := Decode(data)
		if err := Validate(s); err != nil {
			t.Fatalf("decoded scenario does not validate: %v\n%s", err, Print(s))
		}
		if !Equal(s, Decode(data)) {
			t.Fatal("Decode is not deterministic")
		}
		checkPrintRoundTrip(t, s)
		b, err := Encode(s)
		if err != nil {
			t.Fatalf("decoded scenario does not encode: %v\n%s", err, Print(s))
		}
		d := Decode(b)
		if !Equal(s, d) {
			t.Fatalf("Decode(Encode(s)) differs:\n%s\nwant\n%s", Print(d), Print(s))
		}
		if b2, err := Encode(d); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("encoding is not canonical: %v\n%q\n%q", err, b, b2)
		}
	})
}

// Every statement has a fuzz code of its own. The codes of the 31
// statements of v1 and v2 are frozen: the op byte b%31 decodes as it
// always did, so that stored fuzz inputs keep their meaning; statements
// added later take codes from 31 on, behind the extended byte 255.
func TestFuzzCodesStable(t *testing.T) {
	frozen := []Op{
		OpYield, OpWork, OpIO, OpPrint, OpAcquire, OpRelease, OpEnsure, OpUnensure,
		OpNew, OpLocal, OpPublish, OpIncref, OpDecref, OpUse, OpGuard, OpHold,
		OpLock, OpUnlock, OpSet, OpWait, OpSpawn, OpJoin,
		OpNative, OpCleanup, OpLoop, OpForever, OpExit,
		OpIf, OpUntil, OpPark, OpAtThreadExit,
	}
	for code, op := range frozen {
		if got := syntaxOf(op).Code; got != code {
			t.Errorf("%s has code %d, frozen at %d", op, got, code)
		}
	}
	seen := map[int]Op{}
	for _, syn := range Syntaxes {
		if prev, dup := seen[syn.Code]; dup {
			t.Errorf("%s and %s share code %d", prev, syn.Op, syn.Code)
		}
		seen[syn.Code] = syn.Op
		if syn.Code >= legacyCodes+256 || syn.Code < 0 {
			t.Errorf("%s: code %d out of range", syn.Op, syn.Code)
		}
		if syn.Code >= legacyCodes && !slices.Contains(frozen, syn.Op) {
			continue
		}
		if syn.Code >= legacyCodes {
			t.Errorf("%s: a frozen statement behind the extended byte", syn.Op)
		}
	}
	// A modifier with a code of its own (Modifier.Code) shares it with
	// nothing, stands behind the extended byte, and is its row's only one.
	for _, syn := range Syntaxes {
		own := 0
		for _, m := range syn.Modifiers {
			if m.Code == 0 {
				continue
			}
			own++
			if prev, dup := seen[m.Code]; dup {
				t.Errorf("%s %s and %s share code %d", syn.Op, m.Word, prev, m.Code)
			}
			seen[m.Code] = syn.Op
			if m.Code < legacyCodes || m.Code >= legacyCodes+256 {
				t.Errorf("%s %s: code %d not behind the extended byte", syn.Op, m.Word, m.Code)
			}
		}
		if own > 1 {
			t.Errorf("%s: %d modifiers with codes of their own, at most one", syn.Op, own)
		}
	}
	// atthreadexit native (spec v3) took code 37: stored inputs with
	// atthreadexit (code 30, no operand byte) decode as before.
	if c := byCode[37]; c.syn == nil || c.syn.Op != OpAtThreadExit || c.mod == nil || c.mod.Word != "native" {
		t.Errorf("code 37 is %+v, want atthreadexit native", c)
	}
}
