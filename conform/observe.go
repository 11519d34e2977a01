package conform

import (
	"slices"
	"strconv"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Observation is the outcome class of one real run, with the evidence.
type Observation struct {
	Outcome runtime.Outcome `json:"outcome"`
	Kind    string          `json:"kind"`
	// Evidence is the line that decided the class (a marker, a message
	// of the C++ runtime or CPython, the signal).
	Evidence string `json:"evidence"`
	// Notes are facts worth counting across runs: a join that returned, a
	// block that raised, a destructor that ran.
	Notes []string `json:"notes,omitempty"`
}

// corruptionMarkers are the markers of sfz_rt.h that a sanitizer would
// report, with the model's report kind for each.
var corruptionMarkers = map[string]string{
	"nogil":                  runtime.KindNoGIL,
	"use-after-free":         runtime.KindUAFObject,
	"stack-use-after-free":   runtime.KindUAFStack,
	"bad-unlock":             runtime.KindBadUnlock,
	"returned-after-swallow": runtime.KindSwallowedUnwind,
	"closed-guard":           runtime.KindClosedGuard, // ensure G with G not held (PEP 788)
}

// Observe classifies one run of p. The first terminal event wins, as in
// the model: a corruption marker, then how the process ended (a signal or
// a fatal error, the watchdog), then what a clean exit must show (the exit
// code main asked for, every atexit handler, the Py_AtExit function, and
// stdout holding every line main's side printed).
func Observe(p *Program, nAtexit int, raw *Raw) Observation {
	var ob Observation
	markers := markerLines(raw.Stderr)
	ob.Notes = notes(markers)
	for _, m := range markers {
		if kind, ok := corruptionMarkers[strings.Fields(m)[0]]; ok {
			// A debug build checks the DECREF the nogil marker announces:
			// its fatal error is that DECREF's outcome (the model's debug
			// facet, abort/fatal-no-gil), not the corruption the marker
			// stands for in a release build.
			if kind == runtime.KindNoGIL {
				if line := debugFatal(raw.Stderr); line != "" {
					ob.Outcome, ob.Kind, ob.Evidence = runtime.Abort, runtime.KindFatalNoGIL, line
					return ob
				}
			}
			ob.Outcome, ob.Kind, ob.Evidence = runtime.Corruption, kind, "SFZ "+m
			return ob
		}
	}
	if o, ok := Ended(raw); ok {
		o.Notes = ob.Notes
		if o.Outcome == runtime.Deadlock {
			if u := unfinished(markers); len(u) > 0 {
				o.Evidence += "; unfinished: " + strings.Join(u, ", ")
			}
		}
		return o
	}
	ob.Outcome, ob.Kind = runtime.LostCleanup, "process-exit"
	switch {
	case raw.ExitCode != p.ExitCode:
		ob.Evidence = "exit status " + strconv.Itoa(raw.ExitCode) + ", main asked for " + strconv.Itoa(p.ExitCode)
	case !slices.Contains(markers, "finalized"):
		ob.Evidence = "the Py_AtExit function never ran: finalization did not finish"
	case missingAtexit(markers, nAtexit) != "":
		ob.Evidence = missingAtexit(markers, nAtexit) + " never ran"
	case lostOutput(p, markers, raw.Stdout) != "":
		ob.Evidence = "stdout lost " + strconv.Quote(lostOutput(p, markers, raw.Stdout))
	default:
		ob.Outcome, ob.Kind, ob.Evidence = runtime.Clean, runtime.KindExit, "exit status "+strconv.Itoa(raw.ExitCode)+" after finalization"
	}
	return ob
}

// debugFatals are the fatal errors of a debug build's GIL checks on a
// DECREF: the debug allocator hooks' (a free, bpo-26558) and, from 3.12,
// Py_DECREF's own check of the thread state.
var debugFatals = []string{
	"Fatal Python error: _PyMem_DebugFree: Python memory allocator called without holding the GIL",
	"Fatal Python error: _PyMem_DebugMalloc: Python memory allocator called without holding the GIL",
	"Fatal Python error: _PyMem_DebugRealloc: Python memory allocator called without holding the GIL",
	"Fatal Python error: _PyMem_DebugCalloc: Python memory allocator called without holding the GIL",
	"Fatal Python error: _Py_EnsureTstateNotNULL",
}

// debugFatal returns the line of a debug build's GIL-check fatal error on
// stderr, or "".
func debugFatal(stderr string) string {
	for _, needle := range debugFatals {
		if i := strings.Index(stderr, needle); i >= 0 {
			line := stderr[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			return line
		}
	}
	return ""
}

// Ended classifies a run that did not exit normally: a fatal message of
// the C++ runtime or CPython on stderr (abort), a debug build's failed
// assertion with SIGABRT (abort), the watchdog (deadlock),
// SIGABRT (abort) or another signal (corruption). It is the part of
// Observe that needs nothing of the program; package realchaos classifies
// any command's runs with it.
func Ended(raw *Raw) (Observation, bool) {
	fatal := func(kind, needle string) (Observation, bool) {
		if i := strings.Index(raw.Stderr, needle); i >= 0 {
			line := raw.Stderr[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			return Observation{Outcome: runtime.Abort, Kind: kind, Evidence: line}, true
		}
		return Observation{}, false
	}
	if o, ok := fatal(runtime.KindNotRethrown, "FATAL: exception not rethrown"); ok {
		return o, true
	}
	if o, ok := fatal(runtime.KindNoexcept, "terminate called"); ok {
		return o, true
	}
	if o, ok := fatal(runtime.KindFatalStdout, "could not acquire lock for"); ok {
		return o, true
	}
	if o, ok := fatal(runtime.KindFatalGILState, "gilstate_tss_set"); ok {
		return o, true
	}
	if o, ok := fatal("fatal-error", "Fatal Python error"); ok {
		return o, true
	}
	// A debug build's assert() (it prints "FILE:LINE: FUNC: Assertion
	// `COND' failed." and aborts): an abort, with the assertion as evidence.
	if i := strings.Index(raw.Stderr, ": Assertion `"); i >= 0 && (raw.Signal == "SIGABRT" || raw.ExitCode == 134) {
		line := raw.Stderr[strings.LastIndexByte(raw.Stderr[:i], '\n')+1:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		return Observation{Outcome: runtime.Abort, Kind: "assertion", Evidence: line}, true
	}
	switch {
	case raw.TimedOut:
		return Observation{Outcome: runtime.Deadlock, Kind: runtime.KindWatchdog, Evidence: "still running when the watchdog fired"}, true
	case raw.Signal == "SIGABRT" || raw.ExitCode == 134:
		return Observation{Outcome: runtime.Abort, Kind: "sigabrt", Evidence: "killed by SIGABRT"}, true
	case raw.Signal != "":
		return Observation{Outcome: runtime.Corruption, Kind: "signal", Evidence: "killed by " + raw.Signal}, true
	}
	return Observation{}, false
}

// markerLines returns the text after "SFZ " of every marker line.
func markerLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if m, ok := strings.CutPrefix(l, "SFZ "); ok && strings.TrimSpace(m) != "" {
			out = append(out, m)
		}
	}
	return out
}

// notes keeps the markers worth counting, without thread-varying detail.
func notes(markers []string) []string {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, m := range markers {
		f := strings.Fields(m)
		switch f[0] {
		case "join-returned":
			add("join " + f[1] + " returned")
		case "raised":
			if len(f) >= 3 {
				add(f[1] + " raised " + strings.TrimSuffix(f[2], ":"))
			}
		case "dtor":
			if len(f) >= 3 {
				add(f[1] + " " + f[2] + " destructor ran")
			}
		case "swallowed":
			add("catch(...) swallowed the unwind")
		case "guard-refused":
			if len(f) >= 2 {
				add("interp_guard " + f[1] + " refused")
			}
		case "guard-leaked":
			if len(f) >= 2 {
				add("guard " + f[1] + " leaked")
			}
		case "view-refused":
			add("ensure view refused")
		case "ensure-failed":
			if len(f) >= 2 {
				add("ensure " + f[1] + " failed")
			}
		}
	}
	return out
}

func missingAtexit(markers []string, n int) string {
	for i := 0; i < n; i++ {
		if !slices.Contains(markers, "start atexit"+strconv.Itoa(i)) {
			return "atexit" + strconv.Itoa(i)
		}
	}
	return ""
}

// lostOutput returns a main-side line that was printed (its marker is
// there) but is missing from stdout, or "".
func lostOutput(p *Program, markers []string, stdout string) string {
	printed := map[string]int{}
	for _, m := range markers {
		if id, ok := strings.CutPrefix(m, "printed "); ok {
			if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(p.Prints) {
				printed[p.Prints[i]]++
			}
		}
	}
	lines := map[string]int{}
	for _, l := range strings.Split(stdout, "\n") {
		lines[l]++
	}
	for _, text := range p.Prints {
		if lines[text] < printed[text] {
			return text
		}
	}
	return ""
}

// unfinished lists the threads and blocks that started and never ended
// (where a deadlocked run was stuck), main last.
func unfinished(markers []string) []string {
	var started []string
	ended := map[string]bool{}
	for _, m := range markers {
		f := strings.Fields(m)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "start":
			if !slices.Contains(started, f[1]) {
				started = append(started, f[1])
			}
		case "end":
			ended[f[1]] = true
		}
	}
	var out []string
	for _, n := range started {
		if !ended[n] {
			out = append(out, n)
		}
	}
	return out
}
