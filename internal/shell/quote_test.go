package shell

import (
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A quoted word comes back from sh unchanged, whatever it holds.
func TestQuoteRoundTripsThroughSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, w := range []string{"plain.scn", "my dir/x.scn", "it's.scn", `a"b$c\d` + "`e`", ""} {
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("Quote(%q) = %s: sh gave %q, %v", w, Quote(w), out, err)
		}
	}
}

// Word leaves plain words alone and quotes the rest, which sh then gives
// back unchanged.
func TestWord(t *testing.T) {
	for w, want := range map[string]string{"python": "python", "examples/poller/main.py": "examples/poller/main.py", "-delay=300us": "-delay=300us", "a b": "'a b'", "": "''", "$x": "'$x'"} {
		if got := Word(w); got != want {
			t.Errorf("Word(%q) = %s, want %s", w, got, want)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, w := range []string{"plain", "it's", "a b", `$HOME`} {
		out, err := exec.Command(sh, "-c", "printf %s "+Word(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("Word(%q) = %s: sh gave %q, %v", w, Word(w), out, err)
		}
	}
}
