package exhaustive

import (
	"testing"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

func TestScratch(t *testing.T) {
	total := 0
	start := time.Now()
	for _, name := range scenarios.Names() {
		src, file, _ := scenarios.Source(name)
		s, err := scenario.Parse(file, src)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		t0 := time.Now()
		line := ""
		for _, p := range scenario.Policies {
			r, err := Explore(s, Options{Policy: p, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			n += r.States
			line += " " + p + ":"
			for _, o := range r.Seen() {
				line += string(o) + ","
			}
			want, _ := s.Expected(p)
			for _, o := range r.Seen() {
				if !want[string(o)] {
					t.Errorf("%s %s: unexpected %s", name, p, o)
				}
			}
			for o := range want {
				if r.Outcomes[runtime.Outcome(o)] == nil {
					t.Errorf("%s %s: missing %s", name, p, o)
				}
			}
			if !r.Complete {
				line += "INCOMPLETE"
			}
		}
		total += n
		t.Logf("%-36s %6d states %8v %s", name, n, time.Since(t0).Round(time.Millisecond), line)
	}
	t.Logf("total %d states in %v", total, time.Since(start))
}
