package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/grid"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

var update = flag.Bool("update", false, "rewrite testdata/matrix.golden")

const hostileName = `"<script>alert(1)</script>&"`

func loadEntries(t *testing.T) []grid.Entry {
	t.Helper()
	var out []grid.Entry
	for _, f := range testscn.Files(t, "testdata/hostile.scn", "testdata/small.scn") {
		out = append(out, grid.Entry{File: f.Path, Scenario: f.Scenario})
	}
	if out[0].Scenario.Name != hostileName {
		t.Fatalf("hostile scenario is named %q", out[0].Scenario.Name)
	}
	return out
}

var (
	testMatrixOnce sync.Once
	testMatrix     *report.Matrix
	testMatrixErr  error
)

// buildTest builds the test matrix once: 2 scenarios × 3 policies × 40 runs.
func buildTest(t *testing.T) *report.Matrix {
	t.Helper()
	entries := loadEntries(t)
	testMatrixOnce.Do(func() {
		testMatrix, testMatrixErr = grid.Build(entries, []string{"abort", "hang", "terminate"}, 40)
	})
	if testMatrixErr != nil {
		t.Fatal(testMatrixErr)
	}
	return testMatrix
}

func TestHTML(t *testing.T) {
	m := buildTest(t)
	var buf bytes.Buffer
	if err := m.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()

	// The matrix table, with the right counts in each cell.
	if !strings.Contains(page, `<table class="matrix" id="matrix">`) {
		t.Fatal("no matrix table")
	}
	for _, row := range m.Rows {
		for _, c := range row.Cells {
			for _, o := range c.Outcomes {
				chip := regexp.MustCompile(`<a class="chip o-` + o + `[^"]*" href="#cell=` + regexp.QuoteMeta(row.ID) + `/` + c.Policy + `/` + o + `" data-outcome="` + o + `" data-count="(\d+)"`)
				got := chip.FindStringSubmatch(page)
				if got == nil || got[1] != itoa(c.Counts[o]) {
					t.Errorf("cell %s/%s: chip for %s with count %d: found %v", row.ID, c.Policy, o, c.Counts[o], got)
				}
			}
		}
	}
	if !strings.Contains(page, `class="chip o-deadlock bad" href="#cell=hostile/hang/deadlock"`) {
		t.Error("the unexpected deadlock is not marked")
	}

	// A witness with its timeline: one lane per thread.
	panel := regexp.MustCompile(`(?s)<section class="witness o-deadlock" id="w\d+" data-key="hostile/hang/deadlock".*?</section>`).FindString(page)
	if panel == "" {
		t.Fatal("no witness panel for hostile/hang/deadlock")
	}
	for _, want := range []string{
		`<svg class="timeline"`,
		`<text class="lname" x="10"`, // main
		`>main</text>`,
		`>d</text>`,
		`class="mk-strike"`, `class="mk-hang"`,
		`<rect class="gil"`, `<rect class="lock open"`, `<rect class="wait-lock open"`,
		`class="plabel"`, `>teardown<title>`,
		`class="endline"`,
		`shutdownfuzz run -policy hang -schedule &#39;replay `,
		`no thread can run and the process has not exited`,
	} {
		if !strings.Contains(panel, want) {
			t.Errorf("witness panel lacks %q", want)
		}
	}
	if n := strings.Count(panel, `class="lname`); n != 2 {
		t.Errorf("witness panel has %d lanes, want 2", n)
	}

	// Hostile strings appear only escaped.
	for _, raw := range []string{"<script>alert", "</script><script>", `"<script>`} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains raw %q", raw)
		}
	}
	if strings.Count(page, "<script") != 1 {
		t.Errorf("page has %d script elements, want the one inline script", strings.Count(page, "<script"))
	}
	if !strings.Contains(page, "&#34;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#34;") {
		t.Error("the hostile scenario name is not shown escaped")
	}
	// Self-contained: nothing is loaded from elsewhere.
	for _, ext := range []string{`src="http`, `href="http`, `@import`, `url(http`} {
		if strings.Contains(page, ext) {
			t.Errorf("page loads an external resource: %q", ext)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestJSONRoundTrip(t *testing.T) {
	m := buildTest(t)
	b, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back report.Matrix
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Error("Matrix does not survive a JSON round trip")
	}
	b2, err := back.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("JSON of the round-tripped matrix differs")
	}
	for _, want := range []string{`"policies"`, `"counts"`, `"witnesses"`, `"timeline"`, `"lanes"`, `"unexpected": [`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

func TestTextGolden(t *testing.T) {
	m := buildTest(t)
	got := m.Text()
	golden := filepath.Join("testdata", "matrix.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("Text() differs from %s (go test -update to accept):\n%s", golden, got)
	}
	table, _, _ := strings.Cut(got, "\nlegend:")
	for _, l := range strings.Split(table, "\n") {
		if len([]rune(l)) > 120 {
			t.Errorf("line wider than 120 columns: %q", l)
		}
	}
	// Deterministic: a second build gives the same text.
	m2, err := grid.Build(loadEntries(t), []string{"abort", "hang", "terminate"}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Text() != got {
		t.Error("Text() differs between two builds")
	}
}

// The release view: hostile names are escaped in its table too, a change
// between releases is marked, and each chip opens its witness panel.
func TestVersionsHTMLAndText(t *testing.T) {
	joinSrc := "scenario \"join\"\nmain {\n  spawn z\n  work 3\n}\ndaemon z {\n  forever {\n    work 1\n    io\n  }\n}\nteardown {\n  join z\n}\n"
	joinScn, err := scenario.Parse("join.scn", []byte(joinSrc))
	if err != nil {
		t.Fatal(err)
	}
	entries := append(loadEntries(t), grid.Entry{File: "join.scn", Scenario: joinScn})
	v, err := grid.BuildVersions(entries, []string{"cpython-3.8", "cpython-3.13.7", "cpython-3.14"}, grid.Options{Runs: 20})
	if err != nil {
		t.Fatal(err)
	}
	m := buildTest(t)
	m.Versions = v
	var buf bytes.Buffer
	if err := m.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("the hostile scenario name reached the page unescaped")
	}
	if !strings.Contains(page, `id="versions-table"`) {
		t.Fatal("no release table")
	}
	for _, row := range v.Rows {
		for _, c := range row.Cells {
			for _, o := range c.Outcomes {
				key := regexp.QuoteMeta(row.ID + "/" + c.Release + "/" + o)
				if !regexp.MustCompile(`href="#cell=`+key+`"`).MatchString(page) || !regexp.MustCompile(`data-key="`+key+`"`).MatchString(page) {
					t.Errorf("%s: no chip or witness panel", key)
				}
			}
		}
	}
	// join (gh-123940): 3.8 and 3.13.7 block on the stopped daemon, 3.14
	// raises; 3.13.7 can also crash in the cpython#110052 take_gil window
	// (open in every 3.13 patch release, spec v3): the 3.13.7 and 3.14
	// cells change.
	join := v.Rows[len(v.Rows)-1].Cells
	if join[0].Changed || !join[1].Changed || !join[2].Changed {
		t.Errorf("changed flags %v %v %v, want false true true; outcomes %v %v %v", join[0].Changed, join[1].Changed, join[2].Changed,
			join[0].Outcomes, join[1].Outcomes, join[2].Outcomes)
	}
	if text := v.Text(); !strings.Contains(text, "-preset 'cpython-3.14' -policy hang") || !strings.Contains(text, " ^") {
		t.Errorf("text lacks the change and its command:\n%s", text)
	}
}

// A cell with budget runs decided nothing: the matrix is not OK, the cell
// is marked "?" and listed as inconclusive with its command.
func TestBudgetCellIsInconclusive(t *testing.T) {
	s, err := scenario.Parse("loop.scn", []byte("scenario \"loop\"\nmain { forever { yield } }\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := grid.BuildWith([]grid.Entry{{File: "loop.scn", Scenario: s}}, []string{"hang"}, grid.Options{Runs: 2, MaxSteps: 100})
	if err != nil {
		t.Fatal(err)
	}
	text := m.Text()
	if m.OK() || m.Rows[0].Cells[0].Inconclusive != 2 || !strings.Contains(text, "bu 2?") ||
		!strings.Contains(text, "1 cell is inconclusive") || !strings.Contains(text, "shutdownfuzz run -policy hang -schedule ") {
		t.Errorf("OK %v, inconclusive %d:\n%s", m.OK(), m.Rows[0].Cells[0].Inconclusive, text)
	}
}

// The library's patterns are a group of their own: headed in the text and
// in the HTML table, where #patterns links to them.
func TestPatternsGroup(t *testing.T) {
	entries := loadEntries(t)
	entries[1].File = "patterns/" + entries[1].File
	m, err := grid.Build(entries, []string{"hang"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows[0].Group != "" || m.Rows[1].Group != "patterns" {
		t.Fatalf("groups %q %q", m.Rows[0].Group, m.Rows[1].Group)
	}
	if !strings.Contains(m.Text(), "-- patterns: cited shutdown bugs") {
		t.Errorf("text has no patterns heading:\n%s", m.Text())
	}
	var buf bytes.Buffer
	if err := m.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<tr class="group"><th colspan="2" id="patterns">patterns: cited shutdown bugs`) {
		t.Error("HTML has no patterns heading row")
	}
}

// An outcome only CPython's own defects reach is marked apart from what the
// scenario's code causes, in every rendering: "co 3†" with a footnote that
// names the defect, a summary line for a default-policy cell that is clean
// apart from it, and in the HTML a marked chip (the issue escaped, as all
// text); the release view marks it too. A scenario whose corruption is the
// take_gil window (cpython#110052) under 3.12.
func TestDefectOnlyOutcomesMarked(t *testing.T) {
	s, err := scenario.Parse("daemon.scn", []byte(`scenario "plain daemon"
preset cpython-3.12
main {
  spawn d
  work 2
}
daemon d { forever { io } }
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := grid.BuildWith([]grid.Entry{{File: "daemon.scn", Scenario: s}}, []string{"unwind"}, grid.Options{Runs: 400})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Rows[0].Cells[0]
	if c.Defects["corruption"] != "cpython#110052" || c.Defects["clean"] != "" {
		t.Fatalf("defects %v, outcomes %v: want corruption only through cpython#110052", c.Defects, c.Outcomes)
	}
	text := m.Text()
	for _, want := range []string{"co " + strconv.Itoa(c.Counts["corruption"]) + "†", "† only CPython's own defects reach the outcome", "cpython#110052 (3.9-3.13)",
		"daemon (unwind): clean apart from CPython's own defects (cpython#110052)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
	var page bytes.Buffer
	if err := m.HTML(&page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `defect" href="#cell=daemon/unwind/corruption"`) || !strings.Contains(page.String(), `data-defect="cpython#110052"`) {
		t.Errorf("the page does not mark the defect-only chip")
	}
	c.Defects["corruption"] = `<script>"x"`
	page.Reset()
	if err := m.HTML(&page); err != nil || strings.Contains(page.String(), `<script>"x"`) {
		t.Errorf("a hostile defect name is not escaped (%v)", err)
	}
	js, _ := json.Marshal(m)
	if !strings.Contains(string(js), `"defects":{"corruption":`) {
		t.Errorf("the JSON lacks the defects: %s", js)
	}
}
