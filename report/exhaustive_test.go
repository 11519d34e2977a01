package report_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/grid"
)

// An exhaustive matrix marks every cell proved or not, in the data, the
// text (= and ~) and the HTML; a bound too small leaves cells unproved.
func TestExhaustiveMatrix(t *testing.T) {
	entries := loadEntries(t)
	m, err := grid.BuildWith(entries, []string{"hang"}, grid.Options{Runs: 1, Exhaustive: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Rows {
		c := r.Cells[0]
		if c.Search != "exhaustive" || !c.Proved || c.States == 0 {
			t.Errorf("%s: search %q proved %v states %d", r.ID, c.Search, c.Proved, c.States)
		}
	}
	text := m.Text()
	if !strings.Contains(text, " =\n") || strings.Contains(text, " ~\n") || !strings.Contains(text, "= proved") {
		t.Errorf("text does not mark the cells proved:\n%s", text)
	}
	var html strings.Builder
	if err := m.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "proved · ") || !strings.Contains(html.String(), "exhaustive search per cell") {
		t.Error("HTML does not show proved cells")
	}

	m, err = grid.BuildWith(entries, []string{"hang"}, grid.Options{Runs: 1, Exhaustive: true, MaxStates: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Rows {
		if c := r.Cells[0]; c.Proved {
			t.Errorf("%s: proved with a bound of 2 states", r.ID)
		}
	}
	if text := m.Text(); !strings.Contains(text, " ~\n") {
		t.Errorf("text does not mark the cells unproved:\n%s", text)
	}

	m, err = grid.BuildWith(entries, []string{"hang"}, grid.Options{Runs: 5})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Rows[0].Cells[0]; c.Search != "sampled" || c.Proved || strings.Contains(m.Text(), "= proved") {
		t.Errorf("a sampled matrix claims a proof: %+v", c)
	}
}

// An exhaustive matrix is the same, text, JSON and HTML, whether each cell
// searches with one worker or with two.
func TestExhaustiveMatrixWorkers(t *testing.T) {
	entries := loadEntries(t)
	var want string
	for _, workers := range []int{1, 2, 0} {
		m, err := grid.BuildWith(entries, []string{"hang", "unwind"}, grid.Options{Runs: 1, Exhaustive: true, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString(m.Text())
		if err := m.HTML(&b); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		if workers == 1 {
			want = b.String()
		} else if b.String() != want {
			t.Errorf("the matrix with %d workers per cell differs from the serial one", workers)
		}
	}
}
