package runtime

// EventKind names a trace event.
type EventKind string

const (
	EvStart       EventKind = "start"
	EvEnd         EventKind = "end"
	EvSpawn       EventKind = "spawn"
	EvTakeGIL     EventKind = "take-gil"
	EvDropGIL     EventKind = "drop-gil"
	EvWaitGIL     EventKind = "wait-gil"
	EvDropRequest EventKind = "drop-request"
	EvBlock       EventKind = "block"
	EvLock        EventKind = "lock"
	EvUnlock      EventKind = "unlock"
	EvWaitLock    EventKind = "wait-lock"
	EvSet         EventKind = "set"
	EvFree        EventKind = "free"
	EvPhase       EventKind = "phase"
	EvStrike      EventKind = "strike"
	EvHang        EventKind = "hang"
	EvUnwind      EventKind = "unwind"
	EvRaise       EventKind = "raise"
	EvPark        EventKind = "park"
	EvNote        EventKind = "note"
	// EvStdout: the stdout lock taken ("take") or released ("release");
	// recorded in wild mode only, for translateDetector.
	EvStdout EventKind = "stdout"
)

// Event is one entry of a run's trace: at scheduling step Step, thread
// Thread did Kind. The trace is what the HTML timeline draws.
type Event struct {
	Step   int       `json:"step"`
	Thread int       `json:"thread"`
	Kind   EventKind `json:"kind"`
	Stmt   string    `json:"stmt,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// maxEvents bounds a trace; a run over budget would otherwise record
// every step.
const maxEvents = 20000

func (in *Interp) event(t *thread, k EventKind, detail string) {
	if (!in.cfg.Trace && in.wild == nil) || len(in.trace) >= maxEvents { // wild: for translateDetector
		return
	}
	in.trace = append(in.trace, Event{Step: in.ctl.Steps(), Thread: t.id, Kind: k, Stmt: stmtRef(t.cur), Detail: detail})
}
