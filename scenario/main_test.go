package scenario

import (
	"flag"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/internal/fuzzcap"
)

func TestMain(m *testing.M) {
	flag.Parse()
	fuzzcap.Apply() // FuzzParse and FuzzDecode: no long 0-exec stretches while Go minimizes
	goleak.VerifyTestMain(m)
}

// Without -fuzzminimizetime, Go's minimization of each new input is
// capped here too (FuzzDecode stalled for a minute at a time without it).
func TestMinimizationCapped(t *testing.T) {
	if got := flag.Lookup("test.fuzzminimizetime").Value.String(); got != fuzzcap.Cap && !flagGiven("test.fuzzminimizetime") {
		t.Errorf("-fuzzminimizetime is %s, want the cap %s", got, fuzzcap.Cap)
	}
}

func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
