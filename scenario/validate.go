package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
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
	v := &validator{s: s, created: map[string]bool{}, declared: map[string]Pos{}, groups: map[string]Pos{}, minor: ReleaseMinor(s.Presets)}
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
var presetWant = presetWantText()

type validator struct {
	s        *Scenario
	errs     []*Error
	created  map[string]bool // objects that some new or local creates
	declared map[string]Pos  // threads other than main, by name
	groups   map[string]Pos  // replicated blocks NAME[N], by NAME
	uses     []*Stmt         // statements that need an object to exist
	minor    int             // the scenario's release, 3.minor
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
	ownerAfterFinalize
)

// context is where a statement stands: its body's owner, the Op of the
// enclosing statement (OpInvalid at the top of a body), whether a native
// frame or an atthreadexit block encloses it, and its depth.
type context struct {
	owner    owner
	parent   Op
	inNative bool
	inTLS    bool // inside atthreadexit
	depth    int
}

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
		v.body(b.Body, context{owner: ownerAtexit, depth: 1})
	}
	for _, b := range s.Teardown {
		if b == nil {
			v.errorf(Pos{}, "nil teardown block")
			continue
		}
		v.body(b.Body, context{owner: ownerTeardown, depth: 1})
	}
	for _, b := range s.AfterFinalize {
		if b == nil {
			v.errorf(Pos{}, "nil after_finalize block")
			continue
		}
		v.body(b.Body, context{owner: ownerAfterFinalize, depth: 1})
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
	v.replicas()
	for i, t := range s.Threads {
		switch {
		case t == nil || i == 0 && t.Kind != Main:
		case i == 0:
			v.body(t.Body, context{owner: ownerMain, depth: 1})
		case t.Group != "" && t.Name != t.Group+"0":
		default:
			v.body(t.Body, context{owner: ownerThread, depth: 1})
		}
	}
}

// replicas checks the copies of each replicated block NAME[N]: N in range,
// consecutive, named NAME0..NAME(N-1), of one kind and with equal bodies,
// and NAME not the name of a thread.
func (v *validator) replicas() {
	ts := v.s.Threads
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		if t == nil || t.Group == "" && t.Copies == 0 {
			continue
		}
		switch {
		case t.Kind == Main:
			v.errorf(t.Pos, "main cannot be replicated")
			continue
		case !IsName(t.Group):
			v.errorf(t.Pos, "invalid replicated block name %q", t.Group)
			continue
		case t.Copies < 1 || t.Copies > MaxCopies:
			v.errorf(t.Pos, "copy count %d out of range (1..%d)", t.Copies, MaxCopies)
			continue
		case t.Name != t.Group+"0":
			v.errorf(t.Pos, "thread %s is a copy of %s[%d] out of place", t.Name, t.Group, t.Copies)
			continue
		}
		if at, dup := v.groups[t.Group]; dup {
			v.errorf(t.Pos, "duplicate replicated block %q (first at %d:%d)", t.Group, at.Line, at.Col)
		}
		v.groups[t.Group] = t.Pos
		if at, dup := v.declared[t.Group]; dup {
			v.errorf(t.Pos, "replicated block %s[%d] has the name of thread %q (at %d:%d)", t.Group, t.Copies, t.Group, at.Line, at.Col)
		}
		for k := 1; k < t.Copies; k++ {
			c := (*ThreadDecl)(nil)
			if i+k < len(ts) {
				c = ts[i+k]
			}
			if c == nil || c.Kind != t.Kind || c.Group != t.Group || c.Copies != t.Copies ||
				c.Name != t.Group+strconv.Itoa(k) || !EqualStmts(c.Body, t.Body) {
				v.errorf(t.Pos, "copy %d of %s[%d] is missing or differs", k, t.Group, t.Copies)
				break
			}
		}
		i += t.Copies - 1
	}
}

// body checks the statements of one body, standing in c.
func (v *validator) body(body []*Stmt, c context) {
	for _, st := range body {
		if st == nil {
			v.errorf(Pos{}, "nil statement")
			continue
		}
		v.stmt(st, c)
	}
}

// stmt checks one statement against its row of Syntaxes: its operand,
// where it stands, its modifiers and its blocks.
func (v *validator) stmt(st *Stmt, c context) {
	syn, ok := SyntaxOf(st.Op)
	if !ok {
		v.errorf(st.Pos, "invalid statement (op %d)", st.Op)
		return
	}
	v.operand(st, &syn)
	if msg := syn.tooOld(v.minor); msg != "" {
		v.errorf(st.Pos, "%s", msg)
	}
	if syn.place != nil {
		if msg := syn.place(c); msg != "" {
			v.errorf(st.Pos, "%s", msg)
		}
	}
	v.modifiers(st, &syn)
	if !syn.Body {
		if len(st.Body) > 0 {
			v.errorf(st.Pos, "%s statement cannot have a body", st.Op)
		}
		return
	}
	if c.depth >= MaxDepth && (len(st.Body) > 0 || len(st.Else) > 0) {
		v.errorf(st.Pos, "blocks nested deeper than %d", MaxDepth)
		return
	}
	inner := c.inside(st.Op)
	v.body(st.Body, inner)
	v.body(st.Else, inner)
}

// operand checks a statement's operand: a thread that exists, a valid
// name (an object created somewhere), a count or exit code in range.
func (v *validator) operand(st *Stmt, syn *Syntax) {
	switch a := syn.Arg; {
	case a == ArgThread:
		v.threadRef(st)
	case a.Named():
		v.name(st)
		if a == ArgObject && syn.Creates {
			v.created[st.Name] = true
		} else if a == ArgObject {
			v.uses = append(v.uses, st)
		}
	case a == ArgCount && st.N < 1:
		v.errorf(st.Pos, "%s count must be at least 1", st.Op)
	case a == ArgCount && st.N > MaxCount:
		v.errorf(st.Pos, "%s count %d is too large (max %d)", st.Op, st.N, MaxCount)
	case a == ArgCode && (st.N < 0 || st.N > 255):
		v.errorf(st.Pos, "exit code %d out of range (0..255)", st.N)
	}
}

// inside is the context of the statements in a block of op standing in c.
func (c context) inside(op Op) context {
	c.parent, c.depth = op, c.depth+1
	c.inNative = c.inNative || op == OpNative
	c.inTLS = c.inTLS || op == OpAtThreadExit
	return c
}

// threadRef checks the thread a spawn or join names: a declared thread, or
// a replicated block (which addresses all its copies).
func (v *validator) threadRef(st *Stmt) {
	_, ok := v.declared[st.Name]
	_, group := v.groups[st.Name]
	switch {
	case st.Name == "main":
		v.errorf(st.Pos, "cannot %s main", st.Op)
	case !ok && !group:
		v.errorf(st.Pos, "%s of undefined thread %q", st.Op, st.Name)
	}
}

// The placement rules of the statements with a place of their own: what
// is wrong with the statement standing in c, or "". Syntaxes refers to
// them (Syntax.place); the validator reports them and the fuzz decoder
// replaces such a statement with its row's Fallback.

func placeInside(op, in Op) func(context) string {
	return func(c context) string {
		if c.parent != in {
			return fmt.Sprintf("%s must stand directly inside %s", op, in)
		}
		return ""
	}
}

func placePark(c context) string {
	switch {
	case c.owner == ownerMain:
		return "park is not allowed in main (it would block the process for ever; park stands in a thread, daemon or foreign block)"
	case c.owner != ownerThread:
		return fmt.Sprintf("park is allowed only in a thread, daemon or foreign block (%s runs on main)", ownerNames[c.owner])
	case c.inTLS:
		return "park is not allowed inside atthreadexit (it may run on main)"
	}
	return ""
}

func placeAtThreadExit(c context) string {
	switch {
	case c.owner != ownerThread:
		return fmt.Sprintf("atthreadexit is allowed only in a thread, daemon or foreign block, not in %s", ownerNames[c.owner])
	case c.inTLS:
		return "atthreadexit is not allowed inside atthreadexit"
	}
	return ""
}

func placeSpawn(c context) string {
	if c.owner == ownerAfterFinalize {
		return "spawn is not allowed in after_finalize (there is no interpreter left to start a thread)"
	}
	return ""
}

func placeExit(c context) string {
	switch {
	case c.owner != ownerMain:
		return "exit is allowed only in main"
	case c.inNative:
		return "exit is not allowed inside native"
	}
	return ""
}

var ownerNames = [...]string{ownerMain: "main", ownerThread: "a thread", ownerAtexit: "atexit", ownerTeardown: "teardown", ownerAfterFinalize: "after_finalize"}

// modifiers checks that each modifier (and an else block) stands on a
// statement whose row has it.
func (v *validator) modifiers(st *Stmt, syn *Syntax) {
	for i := range Syntaxes {
		for _, m := range Syntaxes[i].Modifiers {
			if *m.Flag(st) && !slices.ContainsFunc(syn.Modifiers, func(x Modifier) bool { return x.Word == m.Word }) {
				v.errorf(st.Pos, "%s on a %s statement (only %s has it)", m.Word, st.Op, Syntaxes[i].Op)
			}
		}
	}
	if len(st.Else) > 0 && !syn.Else {
		v.errorf(st.Pos, "else on a %s statement (only %s has it)", st.Op, OpIf)
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
