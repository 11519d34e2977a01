package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
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
func (m *Matrix) HTML(w io.Writer) error {
	return pageTemplate.Execute(w, newPage(m))
}

// The view model: everything the template draws, precomputed, so that the
// template has no logic beyond loops and conditionals.

type page struct {
	M         *Matrix
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
	Panel                          string
	Key, Alt                       string // fragment keys: ID/policy/outcome and name/policy/outcome
	RowID, Scenario, File, Policy  string
	Outcome, Style                 string
	Release                        string // the preset a release-view witness ran under
	Unexpected                     bool
	Expected                       string
	Runs                           int
	W                              *Witness
	ReplayArg                      string // the -schedule argument
	SVG                            svgView
	HasTail                        bool
	TailFrom                       int
	Tail                           []tailEvent
	ThreadCount, PhaseCount, Width int
}

type tailEvent struct {
	Step                       int
	Thread, Kind, Stmt, Detail string
}

func newPage(m *Matrix) *page {
	p := &page{M: m, Cells: len(m.Rows) * len(m.Policies), Classes: scenario.OutcomeClasses,
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
				p.Witnesses = append(p.Witnesses, newPageWitness(panel, row, &cell, w))
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
			pc := pageVCell{Release: c.Release, Preset: c.Preset, Policy: c.Policy, Changed: c.Changed}
			for _, o := range c.Outcomes {
				panel := fmt.Sprintf("w%d", len(p.Witnesses))
				ch := chip{Outcome: o, Style: style(o), Count: c.Counts[o], RowID: row.ID, Policy: c.Release, Panel: panel, Defect: c.Defects[o]}
				if c.Runs > 0 {
					ch.Percent = percent(c.Counts[o], c.Runs)
				}
				pc.Chips = append(pc.Chips, ch)
				if w := c.Witnesses[o]; w != nil {
					cell := Cell{Policy: c.Policy, Runs: c.Runs}
					pw := newPageWitness(panel, Row{ID: row.ID, Scenario: row.Scenario, File: row.File}, &cell, w)
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

func newPageWitness(panel string, row Row, cell *Cell, w *Witness) pageWitness {
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
		ReplayArg:  strings.TrimPrefix(w.Schedule, "schedule "),
		SVG:        newSVG(&w.Timeline),
	}
	names := map[int]string{}
	for _, l := range w.Timeline.Lanes {
		names[l.Thread] = l.Name
	}
	for _, e := range w.Tail {
		pw.Tail = append(pw.Tail, tailEvent{Step: e.Step, Thread: names[e.Thread], Kind: string(e.Kind), Stmt: e.Stmt, Detail: e.Detail})
	}
	pw.HasTail = len(pw.Tail) > 0
	return pw
}

// SVG geometry.
const (
	svgLeft     = 150 // lane names
	svgPlot     = 1040
	svgRight    = 24
	svgPhaseRow = 15 // one row of phase labels
	svgAxis     = 20
	svgRowH     = 16 // one bar row: the GIL, or one lock
	svgLanePad  = 10
	svgBarH     = 10
	charW       = 6.2 // approximate width of a character of the 11px labels
)

type svgView struct {
	Width, Height  int
	PlotX, PlotX2  float64
	AxisY, TickY   int
	LanesH         int
	TopY, BottomY  int // the lanes' extent
	Ticks          []svgTick
	Bands          []svgBand
	Lanes          []svgLane
	End            svgEnd
	Steps          int
	Truncated      bool
	UntracedX      float64 // where the untraced tail of a truncated trace starts
	UntracedW      float64
	TraceEnd       int
	Diverged       int
	LockLegend     bool
	WaitLegend     bool
	PhaseLegend    bool
	Strike, Hang   bool
	Unwind, EndMrk bool
	Raise, Park    bool
}

type svgTick struct {
	X     float64
	Label int
}

type svgBand struct {
	X, W       float64
	LabelX     float64
	LabelY     int
	Label      string
	Class      string
	From, To   int
	ShowLabel  bool
	LabelEnd   bool // the label ends at LabelX (text-anchor end)
	LineX      float64
	Finalizing bool
	Alt        bool
}

type svgLane struct {
	Name        string
	Index       int
	Y, H        int
	NameY       int
	Alive       bool
	AliveX1     float64
	AliveX2     float64
	AliveY      int
	Rows        []svgRowLabel
	Bars        []svgBar
	Marks       []svgMark
	Odd         bool
	Terminal    bool
	Description string
}

type svgRowLabel struct {
	Y     int
	Label string
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type svgMark struct {
	X, Y  float64
	Path  string
	Class string
	Title string
}

type svgEnd struct {
	X          float64
	Y1, Y2     int
	MarkY      float64
	Path       string
	Label      string
	LabelX     float64
	LabelY     int
	LabelRight bool
	Title      string
	Class      string
}

func newSVG(tl *Timeline) svgView {
	v := svgView{Width: svgLeft + svgPlot + svgRight, PlotX: svgLeft, PlotX2: svgLeft + svgPlot, Steps: tl.Steps, Truncated: tl.Truncated, Diverged: tl.Diverged}
	steps := max(tl.Steps, 1)
	scale := float64(svgPlot) / float64(steps)
	x := func(step int) float64 { return round1(svgLeft + float64(step)*scale) }

	// Phase labels, staggered over as many rows as they need so that short
	// phases (finalizing and flush are often one step each) stay legible.
	// A label that would run off the right edge sits left of its line.
	var rowEnd []float64
	for i, ph := range tl.Phases {
		b := svgBand{Alt: i%2 == 1, X: x(ph.From), W: math.Max(x(ph.To)-x(ph.From), 1), Label: ph.Label, Class: "ph-" + ph.Label, From: ph.From, To: ph.To, Finalizing: ph.Label != "body"}
		b.LineX = b.X
		w := float64(len(ph.Label))*charW + 6
		from := b.X + 2
		b.LabelX = from
		if from+w > float64(v.Width) {
			b.LabelX, b.LabelEnd = b.X-2, true
			from = b.X - 2 - w
		}
		r := 0
		for r < len(rowEnd) && from < rowEnd[r] {
			r++
		}
		if r == len(rowEnd) {
			rowEnd = append(rowEnd, 0)
		}
		rowEnd[r] = from + w
		b.LabelY = svgPhaseRow*(r+1) - 3
		b.ShowLabel = true
		v.Bands = append(v.Bands, b)
		if b.Finalizing {
			v.PhaseLegend = true
		}
	}
	rows := max(len(rowEnd), 2)
	v.AxisY = svgPhaseRow*rows + svgAxis - 6
	v.TickY = v.AxisY - 4
	v.TopY = svgPhaseRow*rows + svgAxis
	for _, t := range ticks(steps) {
		v.Ticks = append(v.Ticks, svgTick{X: x(t), Label: t})
	}

	y := v.TopY
	for li, l := range tl.Lanes {
		lane := svgLane{Name: l.Name, Index: l.Thread, Y: y, Odd: li%2 == 1, Terminal: tl.End.Thread == l.Thread}
		// Rows: the GIL, then one per mutex in order of first use.
		rows := map[string]int{}
		lane.Rows = append(lane.Rows, svgRowLabel{Label: "GIL"})
		for _, s := range l.Spans {
			if s.Kind == SpanLock || s.Kind == SpanWaitLock {
				if _, ok := rows[s.Label]; !ok {
					rows[s.Label] = len(lane.Rows)
					lane.Rows = append(lane.Rows, svgRowLabel{Label: s.Label})
				}
			}
		}
		lane.H = svgLanePad*2 + svgRowH*len(lane.Rows)
		for i := range lane.Rows {
			lane.Rows[i].Y = y + svgLanePad + svgRowH*i + svgBarH - 1
		}
		lane.NameY = y + svgLanePad + svgBarH - 1
		rowY := func(i int) float64 { return float64(y + svgLanePad + svgRowH*i) }
		if l.From >= 0 {
			lane.Alive, lane.AliveX1, lane.AliveX2 = true, x(l.From), x(l.To)
			lane.AliveY = y + svgLanePad + svgBarH/2
		}
		for _, s := range l.Spans {
			row := 0
			if s.Kind == SpanLock || s.Kind == SpanWaitLock {
				row = rows[s.Label]
				v.LockLegend = true
			}
			if s.Kind == SpanWaitGIL || s.Kind == SpanWaitLock {
				v.WaitLegend = true
			}
			bar := svgBar{X: x(s.From), Y: rowY(row), W: math.Max(x(s.To)-x(s.From), 2), H: svgBarH, Class: s.Kind, Title: spanTitle(l.Name, s)}
			if s.Open {
				bar.Class += " open"
			}
			lane.Bars = appendBar(lane.Bars, bar)
		}
		for _, mk := range l.Marks {
			mx := x(mk.Step)
			my := rowY(0) + svgBarH/2
			m := svgMark{X: mx, Y: my, Class: "mk-" + mk.Kind, Title: markTitle(l.Name, mk)}
			switch mk.Kind {
			case MarkStart:
				m.Path = fmt.Sprintf("M%.1f %.1fl7 5 -7 5z", mx, my-5)
			case MarkStrike:
				// Above the GIL row, pointing down at the step, so that a
				// hang or unwind at the same step stays visible.
				m.Path = fmt.Sprintf("M%.1f %.1fl-6 -10h12z", mx, my-svgBarH/2+1)
				v.Strike = true
			case MarkHang:
				m.Path = fmt.Sprintf("M%.1f %.1fh3v12h-3zM%.1f %.1fh3v12h-3z", mx-4, my-6, mx+1, my-6)
				v.Hang = true
			case MarkUnwind:
				m.Path = fmt.Sprintf("M%.1f %.1fl-8 6 8 6zM%.1f %.1fl-8 6 8 6z", mx, my-6, mx+7, my-6)
				v.Unwind = true
			case MarkEnd:
				m.Path = fmt.Sprintf("M%.1f %.1fv14h3v-14z", mx-1.5, my-7)
				v.EndMrk = true
			case MarkRaise:
				m.Path = fmt.Sprintf("M%.1f %.1fl5 6 -5 6 -5 -6z", mx, my-6)
				v.Raise = true
			case MarkPark:
				m.Path = fmt.Sprintf("M%.1f %.1fh10v10h-10z", mx-5, my-5)
				v.Park = true
			}
			lane.Marks = append(lane.Marks, m)
		}
		v.Lanes = append(v.Lanes, lane)
		y += lane.H
	}
	v.BottomY = y
	if tl.Truncated {
		v.TraceEnd = tl.TraceEnd
		v.UntracedX = x(tl.TraceEnd)
		v.UntracedW = math.Max(x(tl.Steps)-v.UntracedX, 1)
	}
	v.LanesH = y - v.TopY
	v.Height = y + 20

	// The terminal event: a line across all lanes, a marker on the lane of
	// the thread it blames, and the outcome as a label.
	e := tl.End
	v.End = svgEnd{X: x(e.Step), Y1: v.TopY, Y2: v.BottomY + 3, Label: e.Outcome, Class: "end " + style(e.Outcome)}
	v.End.Title = fmt.Sprintf("step %d: %s (%s): %s", e.Step, e.Outcome, e.Report.Kind, e.Report.Message)
	v.End.MarkY = float64(v.TopY + svgLanePad + svgBarH/2)
	for _, l := range v.Lanes {
		if l.Index == e.Thread {
			v.End.MarkY = float64(l.Y + svgLanePad + svgBarH/2)
		}
	}
	v.End.Path = fmt.Sprintf("M%.1f %.1fm-7 0a7 7 0 1 0 14 0a7 7 0 1 0 -14 0zm3.5 -3.5l7 7m0 -7l-7 7", v.End.X, v.End.MarkY)
	v.End.LabelY = v.BottomY + 13
	v.End.LabelX = v.End.X + 4
	if v.End.X > svgLeft+svgPlot-90 {
		v.End.LabelX, v.End.LabelRight = v.End.X-4, true
	}
	return v
}

// appendBar merges a bar into the previous one of the same row and class
// when they would touch on screen; long runs have thousands of GIL
// switches.
func appendBar(bars []svgBar, b svgBar) []svgBar {
	if n := len(bars); n > 0 {
		p := &bars[n-1]
		if p.Class == b.Class && p.Y == b.Y && b.X <= p.X+p.W+0.5 && b.X >= p.X {
			end := math.Max(p.X+p.W, b.X+b.W)
			p.W = round1(end - p.X)
			if !strings.HasSuffix(p.Title, "(merged)") {
				p.Title += " … (merged)"
			}
			return bars
		}
	}
	return append(bars, b)
}

func spanTitle(thread string, s Span) string {
	var what string
	switch s.Kind {
	case SpanGIL:
		what = "holds the GIL"
	case SpanWaitGIL:
		what = "waits for the GIL"
	case SpanLock:
		what = "holds mutex " + s.Label
	case SpanWaitLock:
		what = "waits for mutex " + s.Label
	}
	t := fmt.Sprintf("%s %s, steps %d–%d", thread, what, s.From, s.To)
	if s.Open {
		t += " (still at the end of the run)"
	}
	if s.Stmt != "" {
		t += " from " + s.Stmt
	}
	return t
}

func markTitle(thread string, m Mark) string {
	t := fmt.Sprintf("step %d: %s %s", m.Step, thread, m.Kind)
	if m.Detail != "" {
		t += ": " + m.Detail
	}
	if m.Stmt != "" {
		t += " at " + m.Stmt
	}
	return t
}

// ticks returns about ten round step numbers in [0, steps].
func ticks(steps int) []int {
	step := 1
	for k := 1; ; k *= 10 {
		if steps/k <= 10 {
			step = k
			break
		}
		if steps/(2*k) <= 10 {
			step = 2 * k
			break
		}
		if steps/(5*k) <= 10 {
			step = 5 * k
			break
		}
	}
	var out []int
	for t := 0; t <= steps; t += step {
		out = append(out, t)
	}
	return out
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
