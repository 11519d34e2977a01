package report

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The page's stylesheet and legend come from scenario.OutcomeClasses: each
// class has its colour, its CSS class and its legend swatch, and the text
// legend gives its abbreviation.
func TestOutcomeStyles(t *testing.T) {
	var b strings.Builder
	m := &Matrix{Mode: "controlled", Search: "sampled", Runs: 1}
	if err := m.HTML(&b); err != nil {
		t.Fatal(err)
	}
	page, text := b.String(), m.Text()
	for _, c := range scenario.OutcomeClasses {
		for _, want := range []string{
			"--" + c.Name + ": " + c.Color + ";",
			"." + c.Style + " { --c: var(--" + c.Name + "); }",
			`<span class="sw ` + c.Style + `"></span>` + c.Name + `</span>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
		if !strings.Contains(text, " "+c.Abbrev+" "+c.Name) {
			t.Errorf("the text legend lacks %s %s", c.Abbrev, c.Name)
		}
		if abbrev(c.Name) != c.Abbrev || style(c.Name) != c.Style {
			t.Errorf("%s: abbrev %q, style %q", c.Name, abbrev(c.Name), style(c.Name))
		}
	}
	if abbrev("x\x1b") != "x?" || style("x") != "" {
		t.Error("an unknown outcome has an abbreviation or a style")
	}
}
