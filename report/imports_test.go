package report

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/internal/depcheck"
)

// Report renders finished matrices; building them (exploring, replaying
// witnesses) is package grid's, which imports report. Report must reach
// none of the packages that run scenarios' schedules.
func TestReportRunsNothing(t *testing.T) {
	chains, err := depcheck.Chains("..", "report")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"grid", "explore", "exhaustive", "verdict", "campaign"} {
		if chain, ok := chains[bad]; ok {
			t.Errorf("%s: report must not depend on %s", chain, bad)
		}
	}
}
