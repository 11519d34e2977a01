package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

//go:embed report.html.tmpl
var htmlTemplate string

// The template gets only plain strings and numbers: html/template escapes
// every one of them for its context. Nothing is ever wrapped in
// template.HTML, template.JS, template.URL or template.CSS.
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"inc": func(n int) int { return n + 1 }}).Parse(htmlTemplate))

// HTML renders the matrix as one self-contained HTML page: the matrix table,
// and for every outcome seen a witness panel (its timeline as inline SVG,
// its report, replay line and reproducing command), opened by clicking the
// outcome or by loading the page with #cell=SCENARIO/POLICY/OUTCOME, where
// SCENARIO is a row's ID (its file's base name) or its scenario name.
// A timeline or trace tail equal to one an earlier panel shows is drawn
// only there, and copied into the panel when it opens (share.go).
func (m *Matrix) HTML(w io.Writer) error {
	return pageTemplate.Execute(w, newPage(m))
}

// The view model: everything the template draws, precomputed, so that the
// template has no logic beyond loops and conditionals.

type page struct {
	M         *Matrix
	share     *sharing
	Rows      []pageRow
	VHeads    []pageVHead // the release view's columns, when there is one
	VRows     []pageVRow
	VChanges  int
	Witnesses []pageWitness
	Bad       int // cells with outcomes outside their expect lines
	Cells     int
	// Classes are the outcome classes, for the legend; ColorLines and
	// StyleLines are the same classes laid out for the stylesheet: the
	// custom property --NAME of each colour, and the CSS class (Style)
	// that sets the chips' colour to it, each in two lines (splitLines).
	Classes    []scenario.OutcomeClass
	ColorLines [][]scenario.OutcomeClass
	StyleLines [][]scenario.OutcomeClass
}

type pageRow struct {
	ID, Scenario, File string
	GroupHead          string // set on the first row of a group: its title
	Preset             string
	Bad                bool
	Cells              []pageCell
}

type pageVHead struct{ Release, Policy string }

type pageVRow struct {
	ID, Scenario, File string
	Cells              []pageVCell
}

type pageVCell struct {
	Release, Preset, Policy string
	Changed                 bool
	Chips                   []chip
	Search                  string // as pageCell's: "", "proved" or "not proved"
	States                  int
}

type pageCell struct {
	Policy    string
	Default   bool
	Chips     []chip
	Expected  string
	Missing   string
	Unchecked bool
	Bad       bool
	Search    string // "" for a sampled matrix, else "proved" or "not proved"
	States    int
}

type chip struct {
	Outcome    string
	Style      string // the outcome's CSS class
	Count      int
	Percent    string
	Unexpected bool
	RowID      string
	Policy     string
	Panel      string // the witness panel's element id
	// Defect is the issue of the CPython defect that alone reached the
	// outcome (Cell.Defects), or "".
	Defect string
}

type pageWitness struct {
	Panel                         string
	Key, Alt                      string // fragment keys: ID/policy/outcome and name/policy/outcome
	RowID, Scenario, File, Policy string
	Outcome, Style                string
	Release                       string // the preset a release-view witness ran under
	Unexpected                    bool
	Expected                      string
	Runs                          int
	W                             *Witness
	// SVG is the timeline's layout; TL places the panel's drawing of it
	// and TailAt that of its trace tail (share.go).
	SVG     *svgView
	TL      shared
	HasTail bool
	Tail    []tailEvent
	TailAt  shared
}

type tailEvent struct {
	Step                       int
	Thread, Kind, Stmt, Detail string
}

func newPage(m *Matrix) *page {
	p := &page{M: m, share: newSharing(), Cells: len(m.Rows) * len(m.Policies), Classes: scenario.OutcomeClasses,
		ColorLines: splitLines(scenario.OutcomeClasses, 4), StyleLines: splitLines(scenario.OutcomeClasses, 3)}
	for _, row := range m.Rows {
		pr := pageRow{ID: row.ID, Scenario: row.Scenario, File: row.File, Preset: row.Preset}
		if row.Group != "" && (len(p.Rows) == 0 || m.Rows[len(p.Rows)-1].Group != row.Group) {
			pr.GroupHead = GroupTitle(row.Group)
		}
		for _, cell := range row.Cells {
			pc := pageCell{
				Policy:    cell.Policy,
				Default:   cell.Default,
				Expected:  strings.Join(cell.Expected, ", "),
				Missing:   strings.Join(cell.Missing, ", "),
				Unchecked: len(cell.Expected) == 0,
				Bad:       len(cell.Unexpected) > 0 || cell.Inconclusive > 0,
				States:    cell.States,
			}
			if m.Search == "exhaustive" {
				pc.Search = map[bool]string{true: "proved", false: "not proved"}[cell.Proved]
			}
			if pc.Bad {
				p.Bad++
				pr.Bad = true
			}
			for _, o := range cell.Outcomes {
				w := cell.Witnesses[o]
				panel := fmt.Sprintf("w%d", len(p.Witnesses))
				ch := chip{Outcome: o, Style: style(o), Count: cell.Counts[o], Unexpected: cell.IsUnexpected(o), RowID: row.ID, Policy: cell.Policy, Panel: panel, Defect: cell.Defects[o]}
				if cell.Runs > 0 && cell.Search != "exhaustive" {
					ch.Percent = percent(cell.Counts[o], cell.Runs)
				}
				pc.Chips = append(pc.Chips, ch)
				if w == nil {
					continue
				}
				p.Witnesses = append(p.Witnesses, p.newWitness(panel, row, &cell, w))
			}
			pr.Cells = append(pr.Cells, pc)
		}
		p.Rows = append(p.Rows, pr)
	}
	if m.Versions != nil {
		p.addVersions(m.Versions)
	}
	return p
}

// addVersions lays out the release view: one chip per outcome, each
// opening the witness panel keyed ID/RELEASE/OUTCOME.
func (p *page) addVersions(v *Versions) {
	p.VChanges = v.Changes()
	for i, r := range v.Releases {
		h := pageVHead{Release: r}
		if len(v.Rows) > 0 {
			h.Policy = v.Rows[0].Cells[i].Policy
		}
		p.VHeads = append(p.VHeads, h)
	}
	for _, row := range v.Rows {
		pr := pageVRow{ID: row.ID, Scenario: row.Scenario, File: row.File}
		for _, c := range row.Cells {
			pc := pageVCell{Release: c.Release, Preset: c.Preset, Policy: c.Policy, Changed: c.Changed, States: c.States}
			if c.Search == "exhaustive" {
				pc.Search = map[bool]string{true: "proved", false: "not proved"}[c.Proved]
			}
			for _, o := range c.Outcomes {
				panel := fmt.Sprintf("w%d", len(p.Witnesses))
				ch := chip{Outcome: o, Style: style(o), Count: c.Counts[o], RowID: row.ID, Policy: c.Release, Panel: panel, Defect: c.Defects[o]}
				if c.Runs > 0 && c.Search != "exhaustive" {
					ch.Percent = percent(c.Counts[o], c.Runs)
				}
				pc.Chips = append(pc.Chips, ch)
				if w := c.Witnesses[o]; w != nil {
					cell := Cell{Policy: c.Policy, Runs: c.Runs}
					pw := p.newWitness(panel, Row{ID: row.ID, Scenario: row.Scenario, File: row.File}, &cell, w)
					pw.Key = row.ID + "/" + c.Release + "/" + o
					pw.Alt = row.Scenario + "/" + c.Release + "/" + o
					pw.Release = c.Preset
					p.Witnesses = append(p.Witnesses, pw)
				}
			}
			pr.Cells = append(pr.Cells, pc)
		}
		p.VRows = append(p.VRows, pr)
	}
}

// splitLines puts the first n classes on one line of the stylesheet and
// the rest on a second, the layout the page has always had (its bytes stay
// the same); a class added to the table goes on the second line.
func splitLines(classes []scenario.OutcomeClass, n int) [][]scenario.OutcomeClass {
	if len(classes) <= n {
		return [][]scenario.OutcomeClass{classes}
	}
	return [][]scenario.OutcomeClass{classes[:n], classes[n:]}
}

// style is the CSS class of outcome o (scenario.OutcomeClasses); a name
// the language does not know has none.
func style(o string) string {
	c, _ := scenario.LookupOutcome(o)
	return c.Style
}

func percent(n, of int) string {
	v := 100 * float64(n) / float64(of)
	switch {
	case v > 0 && v < 1:
		return "<1%"
	case v < 100 && v > 99:
		return ">99%"
	}
	return fmt.Sprintf("%.0f%%", v)
}

// newWitness lays out the panel of witness w, found in cell of row; a
// timeline or trace tail an earlier panel draws is not drawn again.
func (p *page) newWitness(panel string, row Row, cell *Cell, w *Witness) pageWitness {
	pw := pageWitness{
		Panel:      panel,
		Key:        row.ID + "/" + cell.Policy + "/" + w.Outcome,
		Alt:        row.Scenario + "/" + cell.Policy + "/" + w.Outcome,
		RowID:      row.ID,
		Scenario:   row.Scenario,
		File:       row.File,
		Policy:     cell.Policy,
		Outcome:    w.Outcome,
		Style:      style(w.Outcome),
		Unexpected: cell.IsUnexpected(w.Outcome),
		Expected:   strings.Join(cell.Expected, ", "),
		Runs:       cell.Runs,
		W:          w,
	}
	pw.SVG, pw.TL = p.share.timeline(&w.Timeline)
	names := map[int]string{}
	for _, l := range w.Timeline.Lanes {
		names[l.Thread] = l.Name
	}
	for _, e := range w.Tail {
		pw.Tail = append(pw.Tail, tailEvent{Step: e.Step, Thread: names[e.Thread], Kind: string(e.Kind), Stmt: e.Stmt, Detail: e.Detail})
	}
	if pw.HasTail = len(pw.Tail) > 0; pw.HasTail {
		pw.TailAt = p.share.tail(pw.Tail)
	}
	return pw
}
