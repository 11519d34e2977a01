package enginediff

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Fields names every field that differs, and nothing when none does: the
// known positive of the check TestEnginesAgree and FuzzEngines make.
func TestFieldsNamesTheDifferences(t *testing.T) {
	a := &runtime.Result{Outcome: runtime.Clean, Steps: 3, Report: runtime.Report{Message: "x"}}
	b := *a
	if d := Fields(a, &b); d != "" {
		t.Fatalf("equal results differ: %s", d)
	}
	b.Steps, b.Report.Message, b.Stdout = 4, "y", "out"
	d := Fields(a, &b)
	for _, want := range []string{"steps:", "report:", "stdout:"} {
		if !strings.Contains(d, want) {
			t.Errorf("the difference does not name %s:\n%s", want, d)
		}
	}
	if strings.Contains(d, "outcome:") {
		t.Errorf("an equal field is named:\n%s", d)
	}
}

func TestDiffRunsBothEngines(t *testing.T) {
	s, err := scenario.Parse("t.scn", []byte("scenario \"t\"\nmain {\n  spawn d\n  print \"hi\"\n}\ndaemon d { forever { io } }\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, d := Diff(s, runtime.Config{Policy: "hang"})
	if d != "" || r == nil || r.Stdout != "hi\n" {
		t.Fatalf("Diff = %v, %q", r, d)
	}
}
