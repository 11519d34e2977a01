package realchaos

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// table builds a marker table as the shim lays it out.
type table []byte

func newTestTable() table {
	b := make(table, TableSize)
	binary.LittleEndian.PutUint64(b, shimMagic)
	binary.LittleEndian.PutUint32(b[8:], shimLayout)
	return b
}

func (b table) proc(i int, pid int, host, finalized bool, beginSeq, endSeq, finSeq uint64) {
	le := binary.LittleEndian
	le.PutUint32(b[20:], uint32(max(int(le.Uint32(b[20:])), i+1)))
	s := b[headerSize+i*slotSize:]
	le.PutUint64(s[0:], beginSeq)
	le.PutUint32(s[8:], uint32(pid))
	le.PutUint32(s[12:], uint32(i+1))
	le.PutUint64(s[16:], endSeq)
	var flags uint32
	if host {
		flags |= 1
	}
	if finalized {
		flags |= 2
	}
	le.PutUint32(s[28:], flags)
	le.PutUint64(s[32:], finSeq)
	le.PutUint64(s[40:], 10)
}

func (b table) thread(i, proc, index int, fn, state uint8, finEnter bool, seq, enterSeq uint64, refusals int) {
	le := binary.LittleEndian
	le.PutUint32(b[24:], uint32(max(int(le.Uint32(b[24:])), i+1)))
	s := b[headerSize+shimProcs*slotSize+i*slotSize:]
	le.PutUint64(s[0:], seq)
	le.PutUint32(s[16:], uint32(proc))
	le.PutUint32(s[20:], uint32(index))
	s[24], s[25] = fn, state
	if finEnter {
		s[26] = 1
	}
	le.PutUint32(s[28:], uint32(refusals))
	le.PutUint64(s[56:], enterSeq)
}

func TestParseTable(t *testing.T) {
	b := newTestTable()
	b.proc(0, 100, true, false, 1, 0, 50)
	b.thread(0, 1, 1, 2, 2, true, 60, 55, 0)  // t1 calling PyGILState_Ensure, entered after finalization began
	b.thread(1, 1, 2, 2, 1, false, 45, 40, 0) // t2 delaying before it, entered before the flag (seen at 50)
	b.thread(2, 1, 3, 1, 3, false, 30, 29, 0) // t3 returned from PyEval_RestoreThread
	b.thread(3, 1, 4, 5, 4, false, 70, 65, 1) // t4 exited after a refusal
	b.thread(4, 1, 5, 2, 5, false, 71, 20, 0) // t5 exited inside PyGILState_Ensure
	m, err := ParseTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Hosts()) != 1 || m.Hosts()[0].PID != 100 || m.Hosts()[0].Finalized || m.Calls() != 10 {
		t.Errorf("procs = %+v", m.Procs)
	}
	want := "t1 in PyGILState_Ensure (entered after finalization began); " +
		"t2 delayed before PyGILState_Ensure (entered before finalization, which began during the call); " +
		"t5 exited inside PyGILState_Ensure (entered before finalization, which began during the call)"
	if got := m.Describe(); got != want {
		t.Errorf("Describe =\n%s\nwant\n%s", got, want)
	}
	ends := m.Ends()
	for _, k := range []string{"exited after PyThreadState_EnsureFromView refused", "alive, outside the wrapped calls (last: PyEval_RestoreThread)", "in PyGILState_Ensure (entered after finalization began)"} {
		if ends[k] != 1 {
			t.Errorf("Ends[%q] = %d (%v)", k, ends[k], ends)
		}
	}
	// A table no process mapped is no markers; a foreign one is an error.
	if m, err := ParseTable(make([]byte, TableSize)); err != nil || len(m.Procs) != 0 {
		t.Errorf("empty table: %v %v", m, err)
	}
	bad := newTestTable()
	binary.LittleEndian.PutUint32(bad[8:], 99)
	if _, err := ParseTable(bad); err == nil || !strings.Contains(err.Error(), "layout") {
		t.Errorf("layout 99: %v", err)
	}
}

// TestClassify has a known positive for every outcome class a run of a
// command can end in. How a process ended is conform's observer
// (conform.Ended); the exit status and the host's markers are chaos's.
func TestClassify(t *testing.T) {
	finished := newTestTable()
	finished.proc(0, 7, true, true, 1, 9, 5)
	unfinished := newTestTable()
	unfinished.proc(0, 7, true, false, 1, 0, 0)
	hung := newTestTable()
	hung.proc(0, 7, true, false, 1, 0, 3)
	hung.thread(0, 1, 1, 2, 2, true, 4, 4, 0)
	parse := func(b table) *Markers {
		m, err := ParseTable(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name    string
		raw     conform.Raw
		m       *Markers
		outcome runtime.Outcome
		kind    string
		ev      string
	}{
		{"clean", conform.Raw{}, parse(finished), runtime.Clean, runtime.KindExit, "exit status 0"},
		{"abort", conform.Raw{Signal: "SIGABRT", ExitCode: -1}, parse(finished), runtime.Abort, "sigabrt", "SIGABRT"},
		{"fatal error", conform.Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: "Fatal Python error: _enter_buffered_busy: could not acquire lock\nPython runtime state: finalizing\n"}, parse(finished), runtime.Abort, "fatal-error", "_enter_buffered_busy"},
		// 3.14's gilstate_tss_set abort is conform's kind of its own (the
		// model's fatal-gilstate, gh-124619).
		{"gilstate abort", conform.Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: "Fatal Python error: gilstate_tss_set: failed to set current tstate (TSS)\nPython runtime state: finalizing\n"}, parse(finished), runtime.Abort, "fatal-gilstate", "gilstate_tss_set"},
		{"segfault", conform.Raw{Signal: "SIGSEGV", ExitCode: -1}, parse(hung), runtime.Corruption, "signal", "t1 in PyGILState_Ensure (entered after finalization began)"},
		{"hang", conform.Raw{TimedOut: true, ExitCode: -1}, parse(hung), runtime.Deadlock, runtime.KindWatchdog, "t1 in PyGILState_Ensure"},
		{"exit non-zero", conform.Raw{ExitCode: 3}, parse(finished), runtime.LostCleanup, "process-exit", "exit status 3, want 0"},
		{"lost stdout", conform.Raw{}, parse(unfinished), runtime.LostCleanup, "process-exit", "finalization did not finish"},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := c.raw
			ob := Classify(&raw, c.m, 0)
			if ob.Outcome != c.outcome || ob.Kind != c.kind || !strings.Contains(ob.Evidence, c.ev) {
				t.Errorf("Classify = %s/%s (%s), want %s/%s with %q", ob.Outcome, ob.Kind, ob.Evidence, c.outcome, c.kind, c.ev)
			}
		})
	}
	// -exit: the exit status a clean run has.
	if ob := Classify(&conform.Raw{ExitCode: 3}, parse(finished), 3); ob.Outcome != runtime.Clean {
		t.Errorf("exit 3 with -exit 3: %s", ob.Outcome)
	}
}

func TestDelaysString(t *testing.T) {
	d := DefaultDelays
	if got := d.String(); got != "no delays" {
		t.Errorf("%q", got)
	}
	d.Max = 300e3
	if got := d.String(); got != "uniform 0..300µs, 1 call in 50 sleeps 3ms" {
		t.Errorf("%q", got)
	}
}
