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
