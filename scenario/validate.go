package scenario

import (
	"cmp"
	"slices"
)

// Validate checks the rules of the language that a syntax tree can break:
// the known names of policies, presets, callbacks and outcomes, exactly one
// main, unique thread names, where hold, cleanup and exit may stand, counts
// and exit codes in range, objects that are created somewhere, spawned and
// joined threads that exist, and a well-formed schedule. It returns the
// error with the earliest position, as an *Error (or nil).
func Validate(s *Scenario) error {
	if err := validate(s); err != nil {
		return err
	}
	return nil
}

func validate(s *Scenario) *Error {
	if s == nil {
		return &Error{Msg: "nil scenario"}
	}
	v := &validator{s: s, created: map[string]bool{}, declared: map[string]Pos{}}
	v.scenario()
	if len(v.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(v.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return v.errs[0]
}

// presetWant lists the preset names for error messages.
var presetWant = "cpython-3.8 ... cpython-3.14, cpython-X.Y.Z (a release of one of those, Z 0..999), posix, windows, glibc or debug"

type validator struct {
	s        *Scenario
	errs     []*Error
	created  map[string]bool // objects that some new or local creates
	declared map[string]Pos  // threads other than main, by name
	uses     []*Stmt         // statements that need an object to exist
}

func (v *validator) errorf(p Pos, format string, args ...any) {
	v.errs = append(v.errs, errorAt(p, format, args...))
}

// owner says which body a statement belongs to.
type owner uint8

const (
	ownerMain owner = iota
	ownerThread
	ownerAtexit
	ownerTeardown
)

func (v *validator) scenario() {
	s := v.s
	if s.Name == "" {
		v.errorf(Pos{}, "empty scenario name")
	}
	for _, p := range s.Presets {
		if !IsPreset(p) {
			v.errorf(s.PresetPos, "unknown preset %q (want %s)", p, presetWant)
		}
	}
	if s.Policy != "" && !IsPolicy(s.Policy) {
		v.errorf(s.PolicyPos, "unknown policy %q (want %s)", s.Policy, wantList(Policies))
	}
	if s.Callback != "" && !IsCallback(s.Callback) {
		v.errorf(s.CallbackPos, "unknown callback %q (want %s)", s.Callback, wantList(Callbacks))
	}
	v.threads()
	for _, b := range s.Atexit {
		if b == nil {
			v.errorf(Pos{}, "nil atexit block")
			continue
		}
		v.body(b.Body, ownerAtexit, OpInvalid, false, 1)
	}
	for _, b := range s.Teardown {
		if b == nil {
			v.errorf(Pos{}, "nil teardown block")
			continue
		}
		v.body(b.Body, ownerTeardown, OpInvalid, false, 1)
	}
	for _, st := range v.uses {
		if !v.created[st.Name] {
			v.errorf(st.Pos, "object %q is never created (by new or local)", st.Name)
		}
	}
	for _, e := range s.Expect {
		v.expect(e)
	}
	if s.Schedule != nil {
		v.schedule(s.Schedule)
	}
}

func (v *validator) threads() {
	s := v.s
	if len(s.Threads) == 0 || s.Threads[0] == nil || s.Threads[0].Kind != Main {
		v.errorf(Pos{}, "missing main block")
	} else if s.Threads[0].Name != "main" {
		v.errorf(s.Threads[0].Pos, "main thread named %q, not main", s.Threads[0].Name)
	}
	for i, t := range s.Threads {
		switch {
		case t == nil:
			v.errorf(Pos{}, "nil thread %d", i)
		case i == 0:
		case t.Kind == Main:
			v.errorf(t.Pos, "duplicate main block (first at %d:%d)", s.Threads[0].Pos.Line, s.Threads[0].Pos.Col)
		case t.Kind > Foreign:
			v.errorf(t.Pos, "invalid thread kind %d", t.Kind)
		case t.Name == "main":
			v.errorf(t.Pos, "a %s cannot be named main", t.Kind)
		case !IsName(t.Name):
			v.errorf(t.Pos, "invalid thread name %q", t.Name)
		default:
			if at, dup := v.declared[t.Name]; dup {
				v.errorf(t.Pos, "duplicate thread name %q (first at %d:%d)", t.Name, at.Line, at.Col)
			} else {
				v.declared[t.Name] = t.Pos
			}
		}
	}
	for i, t := range s.Threads {
		switch {
		case t == nil || i == 0 && t.Kind != Main:
		case i == 0:
			v.body(t.Body, ownerMain, OpInvalid, false, 1)
		default:
			v.body(t.Body, ownerThread, OpInvalid, false, 1)
		}
	}
}

// body checks the statements of one body. parent is the Op of the enclosing
// statement (OpInvalid at the top of a body), inNative whether any
// enclosing statement is a native frame, depth the statements' depth.
func (v *validator) body(body []*Stmt, own owner, parent Op, inNative bool, depth int) {
	for _, st := range body {
		if st == nil {
			v.errorf(Pos{}, "nil statement")
			continue
		}
		v.stmt(st, own, parent, inNative, depth)
	}
}

func (v *validator) stmt(st *Stmt, own owner, parent Op, inNative bool, depth int) {
	switch st.Op {
	case OpSpawn, OpJoin:
		if _, ok := v.declared[st.Name]; st.Name == "main" {
			v.errorf(st.Pos, "cannot %s main", st.Op)
		} else if !ok {
			v.errorf(st.Pos, "%s of undefined thread %q", st.Op, st.Name)
		}
	case OpNew, OpLocal:
		v.name(st)
		v.created[st.Name] = true
	case OpPublish, OpIncref, OpDecref, OpUse, OpGuard, OpHold:
		v.name(st)
		v.uses = append(v.uses, st)
	case OpLock, OpUnlock, OpSet, OpWait:
		v.name(st)
	case OpWork, OpLoop:
		if st.N < 1 {
			v.errorf(st.Pos, "%s count must be at least 1", st.Op)
		} else if st.N > MaxCount {
			v.errorf(st.Pos, "%s count %d is too large (max %d)", st.Op, st.N, MaxCount)
		}
	case OpExit:
		switch {
		case own != ownerMain:
			v.errorf(st.Pos, "exit is allowed only in main")
		case inNative:
			v.errorf(st.Pos, "exit is not allowed inside native")
		}
		if st.N < 0 || st.N > 255 {
			v.errorf(st.Pos, "exit code %d out of range (0..255)", st.N)
		}
	case OpIO, OpPrint, OpAcquire, OpRelease, OpEnsure, OpUnensure, OpNative, OpCleanup,
		OpForever, OpYield:
	default:
		v.errorf(st.Pos, "invalid statement (op %d)", st.Op)
		return
	}
	if st.Nowait && st.Op != OpSpawn {
		v.errorf(st.Pos, "nowait on a %s statement (only spawn has it)", st.Op)
	}
	if st.Flush && st.Op != OpPrint {
		v.errorf(st.Pos, "flush on a %s statement (only print has it)", st.Op)
	}
	if (st.Op == OpHold || st.Op == OpCleanup) && parent != OpNative {
		v.errorf(st.Pos, "%s must stand directly inside native", st.Op)
	}
	switch st.Op {
	case OpNative, OpCleanup, OpLoop, OpForever:
		if depth >= MaxDepth && len(st.Body) > 0 {
			v.errorf(st.Pos, "blocks nested deeper than %d", MaxDepth)
			return
		}
		v.body(st.Body, own, st.Op, inNative || st.Op == OpNative, depth+1)
	default:
		if len(st.Body) > 0 {
			v.errorf(st.Pos, "%s statement cannot have a body", st.Op)
		}
	}
}

func (v *validator) name(st *Stmt) {
	if !IsName(st.Name) {
		v.errorf(st.Pos, "invalid name %q in %s", st.Name, st.Op)
	}
}

func (v *validator) expect(e Expect) {
	if !IsPolicy(e.Policy) {
		v.errorf(e.Pos, "unknown policy %q in expect (want %s)", e.Policy, wantList(Policies))
	}
	if len(e.Outcomes) == 0 {
		v.errorf(e.Pos, "expect %s lists no outcome", e.Policy)
	}
	for _, o := range e.Outcomes {
		if !IsOutcome(o) {
			v.errorf(e.Pos, "unknown outcome %q (want %s)", o, wantList(Outcomes))
		}
	}
}

func (v *validator) schedule(sch *Schedule) {
	switch sch.Kind {
	case ScheduleRandom:
	case SchedulePCT:
		if sch.Depth < 1 {
			v.errorf(sch.Pos, "pct depth must be at least 1")
		} else if sch.Depth > MaxCount {
			v.errorf(sch.Pos, "pct depth %d is too large (max %d)", sch.Depth, MaxCount)
		}
	case ScheduleReplay, ScheduleStream:
		for _, c := range sch.Choices {
			if sch.Kind == ScheduleStream && (c < 0 || c > 255) {
				v.errorf(sch.Pos, "stream byte %d out of range (0..255)", c)
				break
			}
			if c < 0 {
				v.errorf(sch.Pos, "replay choice %d is negative", c)
				break
			}
		}
	default:
		v.errorf(sch.Pos, "invalid schedule kind %d", sch.Kind)
	}
}
