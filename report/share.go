package report

import (
	"fmt"
	"reflect"
	"slices"
)

// Witness panels often draw the same thing: a scenario whose policy never
// comes into play has one witness per policy, and their timelines and
// trace tails are equal (in the library's exhaustive matrix, 544 panels
// draw 200 distinct timelines). The page draws each distinct one once, in
// the first panel that shows it (the element with id ID); a later panel
// with an equal one has an empty element that refers to it (data-same),
// and the page's script copies the drawing's nodes into it when the panel
// opens. Nothing else is shared: each panel keeps its own report,
// schedule, command and output.

// shared places one panel's copy of a drawing.
type shared struct {
	ID  string // the id of the element that holds the drawing
	Ref bool   // an earlier panel holds it: this panel refers to it
}

// sharing finds the equal drawings of a page's panels.
type sharing struct {
	timelines map[timelineSig][]drawnTimeline
	tails     map[tailSig][]drawnTail
	ntl, nev  int
}

// timelineSig narrows the timelines compared in full.
type timelineSig struct {
	steps, lanes, phases int
	end                  Terminal
	truncated            bool
}

type drawnTimeline struct {
	tl  *Timeline
	svg *svgView
	at  shared
}

type tailSig struct {
	n           int
	first, last tailEvent
}

type drawnTail struct {
	tail []tailEvent
	at   shared
}

func newSharing() *sharing {
	return &sharing{timelines: map[timelineSig][]drawnTimeline{}, tails: map[tailSig][]drawnTail{}}
}

// timeline returns the layout of tl and where the panel's copy of it is:
// the layout of an equal timeline met before, which an earlier panel
// holds, or a new one that this panel holds.
func (s *sharing) timeline(tl *Timeline) (*svgView, shared) {
	sig := timelineSig{steps: tl.Steps, lanes: len(tl.Lanes), phases: len(tl.Phases), end: tl.End, truncated: tl.Truncated}
	for _, d := range s.timelines[sig] {
		if reflect.DeepEqual(d.tl, tl) {
			return d.svg, shared{ID: d.at.ID, Ref: true}
		}
	}
	v := newSVG(tl)
	d := drawnTimeline{tl: tl, svg: &v, at: shared{ID: fmt.Sprintf("tl%d", s.ntl)}}
	s.ntl++
	s.timelines[sig] = append(s.timelines[sig], d)
	return d.svg, d.at
}

// tail is timeline's counterpart for a witness's trace tail (not empty).
func (s *sharing) tail(tail []tailEvent) shared {
	sig := tailSig{n: len(tail), first: tail[0], last: tail[len(tail)-1]}
	for _, d := range s.tails[sig] {
		if slices.Equal(d.tail, tail) {
			return shared{ID: d.at.ID, Ref: true}
		}
	}
	d := drawnTail{tail: tail, at: shared{ID: fmt.Sprintf("ev%d", s.nev)}}
	s.nev++
	s.tails[sig] = append(s.tails[sig], d)
	return d.at
}
