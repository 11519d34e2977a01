package verdict

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Every outcome class of scenario.OutcomeClasses has its place in the
// oracle: a contract allows it, or Check decides it itself (clean passes
// everywhere, contract only with a bad exit callback, budget is
// inconclusive). A class added to the table fails here until the oracle
// says what it means.
func TestEveryClassHasAPlace(t *testing.T) {
	handled := []runtime.Outcome{runtime.Clean, runtime.Contract, runtime.Budget}
	allowed := map[runtime.Outcome]bool{}
	for policy, outs := range Contracts {
		for _, o := range outs {
			if !scenario.IsOutcome(string(o)) {
				t.Errorf("the contract of %s allows %q, which is no outcome class", policy, o)
			}
			allowed[o] = true
		}
	}
	for _, o := range runtime.Outcomes {
		if !allowed[o] && !slices.Contains(handled, o) {
			t.Errorf("outcome class %s: no contract allows it and Check does not decide it", o)
		}
	}
}

// The package comment's table of contracts is Contracts.
func TestContractsDocumented(t *testing.T) {
	src, err := os.ReadFile("contract.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^//\t(\w+) +(.+)$`)
	doc := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(src), -1) {
		doc[m[1]] = m[2]
	}
	for policy, outs := range Contracts {
		want := []string{string(runtime.Clean)}
		for _, o := range runtime.Outcomes {
			if slices.Contains(outs, o) {
				want = append(want, string(o))
			}
		}
		got := strings.Split(doc[policy], ", ")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("the package comment gives %s %q, Contracts %q", policy, doc[policy], want)
		}
	}
}
