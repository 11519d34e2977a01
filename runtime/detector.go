package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/chaos"
)

// go-deadlock's reports (wild mode) are Go stack traces through gil.go and
// exec.go, which tell a scenario author nothing. The run translates each
// into scenario terms from its own event trace (recorded in wild mode even
// without Config.Trace): which lock was wanted while holding which, at
// which statement of which thread. The raw reports stay in
// Result.Detector (shutdownfuzz run -v prints them).

// lockEdge is the first time a thread wanted lock to while holding from.
type lockEdge struct{ from, to string }

// lockOrder replays the trace and returns, for each lock-order edge, where
// it was first seen: "lock L@12:3 in d".
func (in *Interp) lockOrder() (map[lockEdge]string, []lockEdge) {
	held := map[int][]string{0: {"the GIL"}} // main starts holding the GIL
	where := map[lockEdge]string{}
	var order []lockEdge
	want := func(ev Event, lock string) {
		for _, h := range held[ev.Thread] {
			e := lockEdge{h, lock}
			if _, ok := where[e]; !ok && h != lock {
				at := ev.Stmt
				if at == "" {
					at = ev.Detail
				}
				where[e] = fmt.Sprintf("%s in %s", at, in.threadName(ev.Thread))
				order = append(order, e)
			}
		}
	}
	drop := func(id int, lock string) {
		held[id] = slices.DeleteFunc(held[id], func(h string) bool { return h == lock })
	}
	for _, ev := range in.trace {
		switch ev.Kind {
		case EvWaitGIL:
			want(ev, "the GIL")
		case EvTakeGIL:
			want(ev, "the GIL")
			held[ev.Thread] = append(held[ev.Thread], "the GIL")
		case EvDropGIL:
			drop(ev.Thread, "the GIL")
		case EvWaitLock:
			want(ev, "mutex "+ev.Detail)
		case EvLock:
			want(ev, "mutex "+ev.Detail)
			held[ev.Thread] = append(held[ev.Thread], "mutex "+ev.Detail)
		case EvUnlock:
			drop(ev.Thread, "mutex "+ev.Detail)
		case EvStdout:
			if ev.Detail == "take" {
				want(ev, "the stdout lock")
				held[ev.Thread] = append(held[ev.Thread], "the stdout lock")
			} else {
				drop(ev.Thread, "the stdout lock")
			}
		}
	}
	return where, order
}

// translateDetector turns go-deadlock's raw reports into one line each in
// scenario terms (duplicates dropped).
func (in *Interp) translateDetector(raw []string) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, rep := range raw {
		if !strings.Contains(rep, "Inconsistent locking") {
			chain := chaos.FormatCycle(in.result.Cycle)
			if chain == "" {
				chain = "the waiting thread's lock was still held when the run ended"
			}
			add("a lock wait outlived go-deadlock's timeout: " + chain)
			continue
		}
		where, order := in.lockOrder()
		found := false
		for _, e := range order {
			back, ok := where[lockEdge{e.to, e.from}]
			if !ok || e.from > e.to {
				continue
			}
			found = true
			add(fmt.Sprintf("lock-order inversion: %s wanted while holding %s (%s); %s wanted while holding %s (%s)",
				e.to, e.from, where[e], e.from, e.to, back))
		}
		if !found {
			add("go-deadlock reported a lock-order inversion that this run's trace does not show (run -v prints its report)")
		}
	}
	return out
}
