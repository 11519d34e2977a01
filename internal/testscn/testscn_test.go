package testscn

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Every shared scenario parses and validates under the name it is given,
// a name with quotes and markup included, and only its scenario line
// changes with the name.
func TestScenariosParseUnderAnyName(t *testing.T) {
	for _, tc := range []struct {
		file string
		src  func(string) string
	}{
		{"held-lock", HeldLock},
		{"lock-loop", LockLoop},
		{"event-wait-hang", EventWaitHang},
		{"io-contention", IOContention},
	} {
		for _, name := range []string{"x", `a "quoted" <name>`} {
			src := tc.src(name)
			s, err := scenario.Parse(tc.file+".scn", []byte(src))
			if err != nil {
				t.Fatalf("%s named %q: %v", tc.file, name, err)
			}
			if s.Name != name {
				t.Errorf("%s: name %q, want %q", tc.file, s.Name, name)
			}
			_, rest, _ := strings.Cut(src, "\n")
			if _, want, _ := strings.Cut(tc.src("other"), "\n"); rest != want {
				t.Errorf("%s: the body changes with the name", tc.file)
			}
		}
	}
}

// Files reads and parses every file its patterns match, in order, and
// Library finds the whole library from a package directory.
func TestFilesReadsTheLibrary(t *testing.T) {
	lib := Files(t, "../../scenarios/*.scn", "../../scenarios/patterns/*.scn")
	if len(lib) < 50 {
		t.Fatalf("%d library files", len(lib))
	}
	for _, f := range lib {
		if f.Scenario == nil || len(f.Src) == 0 || !strings.HasSuffix(f.Path, ".scn") {
			t.Fatalf("%+v", f.Path)
		}
	}
	if !strings.Contains(lib[len(lib)-1].Path, "patterns") || strings.Contains(lib[0].Path, "patterns") {
		t.Errorf("not in the order of the patterns: first %s, last %s", lib[0].Path, lib[len(lib)-1].Path)
	}
}
