package depcheck

import (
	"strings"
	"testing"
)

// The walk reaches indirect imports with their chain, and only packages
// of the module.
func TestChains(t *testing.T) {
	chains, err := Chains("../..", "runtime")
	if err != nil {
		t.Fatal(err)
	}
	if chains["scenario"] != "runtime -> scenario" || chains["chaos"] != "runtime -> chaos" {
		t.Errorf("runtime's chains: %v", chains)
	}
	if _, ok := chains["runtime"]; ok {
		t.Error("a package reaches itself")
	}
	for dep := range chains {
		if strings.Contains(dep, ".") {
			t.Errorf("%s is not a package of the module", dep)
		}
	}
	if _, err := Chains("../..", "no-such-package"); err == nil {
		t.Error("a package without files was walked")
	}
}
