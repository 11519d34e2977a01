package verdict

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/depcheck"
)

// The oracle only judges: making and saving crashers is package triage's,
// which imports verdict, never the other way round. Neither this package's
// non-test files nor any package of the module they import, directly or
// not, may import the minimizer or the corpus.
func TestOracleImportsNeitherMinimizeNorCorpus(t *testing.T) {
	chains, err := depcheck.Chains("..", "verdict")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"minimize", "corpus", "triage"} {
		if chain, ok := chains[bad]; ok {
			t.Errorf("%s: the oracle must not depend on %s", chain, bad)
		}
	}
	if chains["runtime"] == "" {
		t.Errorf("the walk did not reach runtime: %v", chains)
	}
}
