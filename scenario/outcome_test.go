package scenario

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every outcome class has every attribute, and the attributes that tell
// classes apart (name, abbreviation, CSS class, severity) are distinct.
func TestOutcomeClassesComplete(t *testing.T) {
	if len(OutcomeClasses) == 0 {
		t.Fatal("no outcome classes")
	}
	ident := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	color := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	seen := map[string]map[string]bool{"name": {}, "abbrev": {}, "style": {}, "severity": {}}
	unique := func(attr, v string, c OutcomeClass) {
		if seen[attr][v] {
			t.Errorf("%s: %s %q is another class's too", c.Name, attr, v)
		}
		seen[attr][v] = true
	}
	for _, c := range OutcomeClasses {
		// Every field must be set: a class added without one of them fails
		// here, whatever the field.
		v := reflect.ValueOf(c)
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.Type.Kind() == reflect.String && v.Field(i).String() == "" {
				t.Errorf("outcome class %q has no %s", c.Name, f.Name)
			}
		}
		if !ident.MatchString(c.Name) || !ident.MatchString(c.Style) {
			t.Errorf("%s: name %q or style %q is not a lower-case identifier", c.Name, c.Name, c.Style)
		}
		if len(c.Abbrev) != 2 {
			t.Errorf("%s: abbreviation %q is not two letters (the text matrix's columns assume it)", c.Name, c.Abbrev)
		}
		if !color.MatchString(c.Color) {
			t.Errorf("%s: colour %q is not #rrggbb", c.Name, c.Color)
		}
		if c.Severity < 0 || c.Severity >= len(OutcomeClasses) {
			t.Errorf("%s: severity %d is not a rank 0..%d", c.Name, c.Severity, len(OutcomeClasses)-1)
		}
		unique("name", c.Name, c)
		unique("abbrev", c.Abbrev, c)
		unique("style", c.Style, c)
		unique("severity", strconv.Itoa(c.Severity), c)
		if got, ok := LookupOutcome(c.Name); !ok || got != c {
			t.Errorf("LookupOutcome(%q) = %+v, %v", c.Name, got, ok)
		}
		if !IsOutcome(c.Name) {
			t.Errorf("IsOutcome(%q) is false", c.Name)
		}
	}
	if !reflect.DeepEqual(Outcomes, outcomeNames()) || len(Outcomes) != len(OutcomeClasses) {
		t.Errorf("Outcomes %v are not the classes' names", Outcomes)
	}
	if _, ok := LookupOutcome("crash"); ok || IsOutcome("crash") {
		t.Error("an unknown outcome was found")
	}
}

// The language reference's table of outcomes is the table's Doc column,
// row for row; the README's summary lists the same classes in the same
// order, in words of its own.
func TestOutcomeClassesDocumented(t *testing.T) {
	var want, names []string
	for _, c := range OutcomeClasses {
		want = append(want, "| `"+c.Name+"` | "+c.Doc+" |")
		names = append(names, c.Name)
	}
	rows := outcomeRows(t, "../docs/scenario-language.md")
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("docs/scenario-language.md's outcomes:\n%s\nwant (from OutcomeClasses):\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	var readme []string
	for _, row := range outcomeRows(t, "../README.md") {
		name, _, _ := strings.Cut(strings.TrimPrefix(row, "| `"), "`")
		readme = append(readme, name)
	}
	if !reflect.DeepEqual(readme, names) {
		t.Errorf("README.md's outcomes %v, want %v", readme, names)
	}
}

// outcomeRows returns the table rows ("| `name` | ...") of the Outcomes
// section of a Markdown file.
func outcomeRows(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(src), "\n## Outcomes\n")
	if !ok {
		t.Fatalf("%s has no Outcomes section", file)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
		}
	}
	return rows
}

// OutcomesIn lists an expect set in the language's order, leaving out
// names that are not outcomes, and gives nil for a set with no outcome.
func TestOutcomesIn(t *testing.T) {
	got := OutcomesIn(map[string]bool{"budget": true, "clean": true, "deadlock": true, "bogus": true, "abort": false})
	if want := []string{"clean", "deadlock", "budget"}; !reflect.DeepEqual(got, want) {
		t.Errorf("OutcomesIn = %v, want %v", got, want)
	}
	if got := OutcomesIn(map[string]bool{"bogus": true}); got != nil {
		t.Errorf("OutcomesIn of no outcome = %#v, want nil", got)
	}
}
