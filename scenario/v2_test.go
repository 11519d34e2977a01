package scenario

import (
	"strings"
	"testing"
)

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
		{"cpython-3.15", 0, 0, false},
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
var v2Errors = []struct{ name, src, want string }{
	{"spawn modifier", "main { spawn t wait }\nthread t {}\n", `t.scn:2:16: unknown spawn modifier "wait" (want nowait)`},
	{"spawn two modifiers", "main { spawn t nowait nowait }\nthread t {}\n", `t.scn:2:23: unexpected "nowait" after spawn statement`},
	{"join nowait", "main { join t nowait }\nthread t {}\n", `t.scn:2:15: unexpected "nowait" after join statement`},
	{"print flush without text", "main { print flush }\n", `t.scn:2:20: expected a quoted string after print, found }`},
	{"print word", "main { print fast \"x\" }\n", `t.scn:2:14: expected a quoted string after print, found "fast"`},
	{"preset patch leading zero", "preset cpython-3.12.03\nmain {}\n", `t.scn:2:1: unknown preset "cpython-3.12.03" (want cpython-3.8 ... cpython-3.14, cpython-X.Y.Z (a release of one of those, Z 0..999), posix, windows, glibc or debug)`},
}

func TestParseErrorsV2(t *testing.T) {
	for _, tt := range v2Errors {
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
	b := []byte{2, 10, 20, 0, 0, 1, 0, 0, 0, 2, 20, 128, 3, 129, 0}
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
