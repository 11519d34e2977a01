// The witness panel's timeline as inline SVG: newSVG lays a Timeline out
// (lanes, bars, marks, phase bands, the terminal event) as plain numbers
// and strings for the page template to draw.

package report

import (
	"fmt"
	"math"
	"strings"
)

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
