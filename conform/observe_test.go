package conform

import (
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// TestObserve has a known positive for every outcome class and report kind
// the observer produces, and the precedence between them (the first
// terminal event wins, as in the model).
func TestObserve(t *testing.T) {
	p := &Program{ExitCode: 3, Prints: []string{"result", "closing log"}}
	head := "SFZ python 3.11.2 (main)\nSFZ start main\n"
	ok := head + "SFZ start atexit0\nSFZ finalized\n"
	cases := []struct {
		name    string
		raw     Raw
		outcome runtime.Outcome
		kind    string
	}{
		{"clean", Raw{ExitCode: 3, Stderr: ok}, runtime.Clean, runtime.KindExit},
		{"decref without the GIL", Raw{ExitCode: 3, Stderr: head + "SFZ dtor hold Cb w\nSFZ nogil hold Cb w\nSFZ finalized\n"}, runtime.Corruption, runtime.KindNoGIL},
		{"marker before an abort wins", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "SFZ stack-use-after-free use Node teardown0\nFatal Python error: x\n"}, runtime.Corruption, runtime.KindUAFStack},
		{"debug build: the allocator's fatal error on the marked DECREF", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "SFZ dtor hold Cb w\nSFZ nogil hold Cb w\nFatal Python error: _PyMem_DebugFree: Python memory allocator called without holding the GIL\n"}, runtime.Abort, runtime.KindFatalNoGIL},
		{"debug build 3.12+: the thread-state check on the marked DECREF", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "SFZ nogil decref X f\nFatal Python error: _Py_EnsureTstateNotNULL: the function must be called with the GIL held\n"}, runtime.Abort, runtime.KindFatalNoGIL},
		{"debug build: another marker still wins", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "SFZ use-after-free use X main\nFatal Python error: _PyMem_DebugFree: Python memory allocator called without holding the GIL\n"}, runtime.Corruption, runtime.KindUAFObject},
		{"object use after free", Raw{ExitCode: 3, Stderr: ok + "SFZ use-after-free use X main\n"}, runtime.Corruption, runtime.KindUAFObject},
		{"bad unlock", Raw{ExitCode: 3, Stderr: ok + "SFZ bad-unlock L main\n"}, runtime.Corruption, runtime.KindBadUnlock},
		{"resumed after a swallowed unwind", Raw{ExitCode: 3, Stderr: ok + "SFZ swallowed w\nSFZ returned-after-swallow w\n"}, runtime.Corruption, runtime.KindSwallowedUnwind},
		{"ensure through a closed guard", Raw{ExitCode: 3, Stderr: ok + "SFZ closed-guard ensure G lib\n"}, runtime.Corruption, runtime.KindClosedGuard},
		{"segfault", Raw{Signal: "SIGSEGV", ExitCode: -1, Stderr: head}, runtime.Corruption, "signal"},
		{"glibc not rethrown", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "SFZ swallowed w\nFATAL: exception not rethrown\n"}, runtime.Abort, runtime.KindNotRethrown},
		{"terminate", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "terminate called without an active exception\n"}, runtime.Abort, runtime.KindNoexcept},
		{"bpo-23309", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: "Fatal Python error: _enter_buffered_busy: could not acquire lock for <_io.BufferedWriter name='<stdout>'> at interpreter shutdown\n"}, runtime.Abort, runtime.KindFatalStdout},
		{"other fatal error", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: "Fatal Python error: PyEval_SaveThread: the function must be called with the GIL held\n"}, runtime.Abort, "fatal-error"},
		{"debug build's assertion", Raw{Signal: "SIGABRT", ExitCode: -1, Stderr: head + "python3.14d: ../Python/pystate.c:1752: PyThreadState_Clear: Assertion `tstate->_status.initialized && !tstate->_status.cleared' failed.\n"}, runtime.Abort, "assertion"},
		{"plain SIGABRT", Raw{Signal: "SIGABRT", ExitCode: -1}, runtime.Abort, "sigabrt"},
		{"watchdog", Raw{TimedOut: true, ExitCode: -1, Stderr: head}, runtime.Deadlock, runtime.KindWatchdog},
		{"watchdog in a teardown", Raw{TimedOut: true, ExitCode: -1, Stderr: head + "SFZ start d\nSFZ end main\nSFZ start teardown0\n"}, runtime.Deadlock, runtime.KindWatchdog},
		{"wrong exit status", Raw{ExitCode: 0, Stderr: ok}, runtime.LostCleanup, "process-exit"},
		{"finalization never finished", Raw{ExitCode: 3, Stderr: head + "SFZ start atexit0\n"}, runtime.LostCleanup, "process-exit"},
		{"atexit never ran", Raw{ExitCode: 3, Stderr: head + "SFZ finalized\n"}, runtime.LostCleanup, "process-exit"},
		{"stdout lost a line", Raw{ExitCode: 3, Stdout: "result\n", Stderr: ok + "SFZ printed 0\nSFZ printed 1\n"}, runtime.LostCleanup, "process-exit"},
		{"stdout complete", Raw{ExitCode: 3, Stdout: "result\nclosing log\n", Stderr: ok + "SFZ printed 0\nSFZ printed 1\n"}, runtime.Clean, runtime.KindExit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := c.raw
			ob := Observe(p, 1, &raw)
			if ob.Outcome != c.outcome || ob.Kind != c.kind {
				t.Errorf("Observe = %s/%s (%s), want %s/%s", ob.Outcome, ob.Kind, ob.Evidence, c.outcome, c.kind)
			}
			if ob.Evidence == "" {
				t.Error("no evidence")
			}
		})
	}
}

func TestObserveNotes(t *testing.T) {
	raw := &Raw{Stderr: "SFZ join-returned z teardown0\nSFZ raised teardown0 PythonFinalizationError: cannot join thread at interpreter shutdown\n" +
		"SFZ dtor hold Cb w\nSFZ dtor hold Cb w\nSFZ swallowed w\nSFZ finalized\nSFZ python 3.14.10 (main)\n"}
	ob := Observe(&Program{}, 0, raw)
	want := []string{"join z returned", "teardown0 raised PythonFinalizationError", "hold Cb destructor ran", "catch(...) swallowed the unwind"}
	if len(ob.Notes) != len(want) {
		t.Fatalf("notes = %q, want %q", ob.Notes, want)
	}
	for i := range want {
		if ob.Notes[i] != want[i] {
			t.Errorf("note %d = %q, want %q", i, ob.Notes[i], want[i])
		}
	}
	if v := pythonVersion(raw.Stderr); v != "3.14.10" {
		t.Errorf("pythonVersion = %q", v)
	}
}

func TestUnfinished(t *testing.T) {
	ob := Observe(&Program{}, 0, &Raw{TimedOut: true, Stderr: "SFZ start main\nSFZ start d\nSFZ end main\nSFZ start teardown0\n"})
	if !strings.HasSuffix(ob.Evidence, "unfinished: d, teardown0") {
		t.Errorf("evidence %q does not name the unfinished blocks", ob.Evidence)
	}
}

// The PEP 788 markers are counted as notes: a refused guard or view, a
// leaked guard; a refusal counts once per run however often it came.
func TestObserveGuardNotes(t *testing.T) {
	raw := &Raw{Stderr: "SFZ guard-refused G w\nSFZ guard-refused G w\nSFZ view-refused gdbus\nSFZ guard-leaked G cb\nSFZ finalized\n"}
	ob := Observe(&Program{}, 0, raw)
	want := []string{"interp_guard G refused", "ensure view refused", "guard G leaked"}
	if strings.Join(ob.Notes, "|") != strings.Join(want, "|") {
		t.Errorf("notes = %q, want %q", ob.Notes, want)
	}
}
