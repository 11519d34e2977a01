package report_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/grid"
)

// Equal timelines and trace tails are drawn once. In an exhaustive matrix
// the small scenario's clean witness is the same run under every policy
// (its thread is not a daemon): the first panel draws it, the others refer
// to that drawing, and every reference names a drawing held by an earlier
// panel, so that the page's script finds it.
func TestSharedDrawings(t *testing.T) {
	m, err := grid.BuildWith(loadEntries(t), []string{"abort", "hang", "terminate"}, grid.Options{Runs: 1, Exhaustive: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	held := map[string]bool{}
	timelineOf := map[string]string{} // panel key → the id of its timeline's drawing
	holders := regexp.MustCompile(`<(?:div class="tl"|details) id="((?:tl|ev)\d+)">`)
	refs := regexp.MustCompile(`<(?:div class="tl"|details) data-same="((?:tl|ev)\d+)">`)
	for _, panel := range regexp.MustCompile(`(?s)<section class="witness.*?</section>`).FindAllString(page, -1) {
		key := regexp.MustCompile(`data-key="([^"]*)"`).FindStringSubmatch(panel)[1]
		own, ref := holders.FindAllStringSubmatch(panel, -1), refs.FindAllStringSubmatch(panel, -1)
		for _, r := range ref {
			if !held[r[1]] {
				t.Errorf("%s refers to %s, which no earlier panel draws", key, r[1])
			}
		}
		for _, h := range own {
			if held[h[1]] {
				t.Errorf("%s draws %s again", key, h[1])
			}
			held[h[1]] = true
		}
		drawn := 0 // the panel draws its timeline: 1, or refers to it: 0
		for i, x := range append(own, ref...) {
			if strings.HasPrefix(x[1], "tl") {
				timelineOf[key] = x[1]
				if i < len(own) {
					drawn++
				}
			}
		}
		if svgs := strings.Count(panel, `<svg class="timeline"`); timelineOf[key] == "" || svgs != drawn {
			t.Errorf("%s: timeline %q, %d drawings, want %d", key, timelineOf[key], svgs, drawn)
		}
	}
	first := timelineOf["small/abort/clean"]
	if first == "" || timelineOf["small/hang/clean"] != first || timelineOf["small/terminate/clean"] != first {
		t.Errorf("small's clean witnesses do not share one timeline: %v", timelineOf)
	}
	if !strings.Contains(page, `<div class="tl" id="`+first+`">`) || strings.Count(page, `data-same="`+first+`"`) != 2 {
		t.Errorf("%s is not drawn once and referred to twice", first)
	}
}
