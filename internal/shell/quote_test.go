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
