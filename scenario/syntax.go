package scenario

import "fmt"

// The statement table: one row per statement of the language. The parser,
// the printer, Equal, the fuzz encoder and decoder, the validator and the
// tests that must cover every statement in every place (the runtime's
// structural property test, the oracle's after_finalize attribution test,
// the minimizer's block test) all read it, so that a statement is defined
// once. Adding one takes three files: here, its Op constant and its row
// (keyword, operand, blocks, a fresh Code); in package runtime, the file
// that models it, which registers its semantics (a test fails without
// them); and a line in docs/scenario-language.md.

// Op is a statement's operation.
type Op uint8

const (
	OpInvalid Op = iota
	OpSpawn
	OpJoin
	OpWork
	OpIO
	OpPrint
	OpAcquire
	OpRelease
	OpEnsure
	OpUnensure
	OpNew
	OpLocal
	OpPublish
	OpIncref
	OpDecref
	OpUse
	OpGuard
	OpLock
	OpUnlock
	OpSet
	OpWait
	OpNative
	OpHold
	OpCleanup
	OpLoop
	OpForever
	OpYield
	OpExit
	OpIf           // v2: if finalizing { } else { }
	OpUntil        // v2: until E { }
	OpPark         // v2: park
	OpAtThreadExit // v2: atthreadexit { }
	// PEP 788's interpreter guards (spec v3, CPython 3.15 and later). Rows
	// that share a keyword with another (ensure, if, interp_guard) are told
	// apart by the word after it and by a { after the operand.
	OpInterpGuard      // interp_guard G
	OpInterpGuardBlock // interp_guard G { } else { }
	OpClose            // close G
	OpEnsureGuard      // ensure G
	OpEnsureView       // ensure view { } else { }
	OpIfGuarded        // if guarded G { } else { }
	numOps
)

func (o Op) String() string {
	if syn, ok := SyntaxOf(o); ok {
		return syn.Keyword
	}
	return "invalid"
}

// LookupOp returns the first Op of a statement keyword (forms gives the
// others), or OpInvalid.
func LookupOp(kw string) Op {
	for _, syn := range Syntaxes {
		if syn.Keyword == kw {
			return syn.Op
		}
	}
	return OpInvalid
}

// Arg is the operand a statement takes after its keyword.
type Arg uint8

const (
	ArgNone   Arg = iota
	ArgThread     // a thread, or a replicated block NAME[N] as a whole
	ArgObject     // an object
	ArgLock       // a C-level mutex
	ArgEvent      // an event
	ArgCount      // a count, 1..MaxCount
	ArgCode       // an exit code, 0..255; may be left out (0)
	ArgText       // a quoted string
	ArgGuard      // an interpreter guard (PEP 788)
)

// Named reports whether the operand is a name (Stmt.Name).
func (a Arg) Named() bool { return a >= ArgThread && a <= ArgEvent || a == ArgGuard }

// Number reports whether the operand is a number (Stmt.N).
func (a Arg) Number() bool { return a == ArgCount || a == ArgCode }

// Modifier is a word that may follow a statement's keyword ("spawn t
// nowait", "native noexcept", "cleanup unwind", "print flush",
// "atthreadexit native"), and the Stmt field it stands for.
type Modifier struct {
	Word string
	Flag func(*Stmt) *bool
	// Code, if not 0, is the fuzz code of the statement with this modifier
	// set. A modifier added to a row whose code was frozen without an
	// operand byte (atthreadexit) cannot take a bit of one: reading a new
	// byte would shift every stored input that holds the statement. It
	// takes a code of its own instead, the next free one; the row's code
	// stays the statement without it. A row has at most one such modifier.
	// Other modifiers are packed in the operand byte (see decoder.operand).
	Code int
}

// packed returns the row's modifiers that the fuzz codec packs in the
// operand byte: those without a Code of their own.
func (syn *Syntax) packed() []Modifier {
	var out []Modifier
	for _, m := range syn.Modifiers {
		if m.Code == 0 {
			out = append(out, m)
		}
	}
	return out
}

// Syntax is one statement of the language: its operand, modifiers and
// blocks, its fuzz code, and where it may stand.
type Syntax struct {
	Op      Op
	Keyword string // what the statement starts with
	// Word is a fixed word after the keyword ("if finalizing", "if
	// guarded G", "ensure view"), "" for none.
	Word      string
	Arg       Arg
	Modifiers []Modifier
	// ModsFirst: the modifiers come between the keyword and the operand
	// (print flush "text"); otherwise after the operand (spawn t nowait).
	ModsFirst bool
	Body      bool // it has a { } block
	Else      bool // it may have an else block (if)
	// Inside is the statement it must stand directly inside (OpInvalid:
	// anywhere); Fallback is what the fuzz decoder makes of it elsewhere.
	Inside, Fallback Op
	// Creates: the statement creates the object it names (new, local);
	// other statements on an object need it created somewhere.
	Creates bool
	// Code is the statement's fuzz code, stable for ever once assigned:
	// stored fuzz inputs decode the same when statements are added. New
	// statements take the next free code from legacyCodes on (see
	// decoder.op).
	Code int
	// place says what is wrong with the statement standing in a context,
	// or "" (nil: it may stand anywhere). validate.go has the rules.
	place func(c context) string
	// MinMinor is the first CPython 3.Y release that has the statement (0:
	// every release); before it the statement is a parse error, and the
	// fuzz decoder makes it its Fallback.
	MinMinor int
}

var (
	modNowait   = Modifier{Word: "nowait", Flag: func(st *Stmt) *bool { return &st.Nowait }}
	modFlush    = Modifier{Word: "flush", Flag: func(st *Stmt) *bool { return &st.Flush }}
	modNoexcept = Modifier{Word: "noexcept", Flag: func(st *Stmt) *bool { return &st.Noexcept }}
	modCatchall = Modifier{Word: "catchall", Flag: func(st *Stmt) *bool { return &st.Catchall }}
	modNounwind = Modifier{Word: "nounwind", Flag: func(st *Stmt) *bool { return &st.Nounwind }}
	modOnUnwind = Modifier{Word: "unwind", Flag: func(st *Stmt) *bool { return &st.OnUnwind }}
	// atthreadexit native (spec v3): C++ thread_local and pthread-key
	// destructors, as against Python-level thread state.
	modTLSNative = Modifier{Word: "native", Flag: func(st *Stmt) *bool { return &st.Native }, Code: 37}
)

// Syntaxes lists every statement, in Op order.
var Syntaxes = []Syntax{
	{Op: OpSpawn, Keyword: "spawn", Arg: ArgThread, Modifiers: []Modifier{modNowait}, Code: 20, place: placeSpawn, Fallback: OpYield},
	{Op: OpJoin, Keyword: "join", Arg: ArgThread, Code: 21},
	{Op: OpWork, Keyword: "work", Arg: ArgCount, Code: 1},
	{Op: OpIO, Keyword: "io", Code: 2},
	{Op: OpPrint, Keyword: "print", Arg: ArgText, Modifiers: []Modifier{modFlush}, ModsFirst: true, Code: 3},
	{Op: OpAcquire, Keyword: "acquire", Code: 4},
	{Op: OpRelease, Keyword: "release", Code: 5},
	{Op: OpEnsure, Keyword: "ensure", Code: 6},
	{Op: OpUnensure, Keyword: "unensure", Code: 7},
	{Op: OpNew, Keyword: "new", Arg: ArgObject, Creates: true, Code: 8},
	{Op: OpLocal, Keyword: "local", Arg: ArgObject, Creates: true, Code: 9},
	{Op: OpPublish, Keyword: "publish", Arg: ArgObject, Code: 10},
	{Op: OpIncref, Keyword: "incref", Arg: ArgObject, Code: 11},
	{Op: OpDecref, Keyword: "decref", Arg: ArgObject, Code: 12},
	{Op: OpUse, Keyword: "use", Arg: ArgObject, Code: 13},
	{Op: OpGuard, Keyword: "guard", Arg: ArgObject, Code: 14},
	{Op: OpLock, Keyword: "lock", Arg: ArgLock, Code: 16},
	{Op: OpUnlock, Keyword: "unlock", Arg: ArgLock, Code: 17},
	{Op: OpSet, Keyword: "set", Arg: ArgEvent, Code: 18},
	{Op: OpWait, Keyword: "wait", Arg: ArgEvent, Code: 19},
	{Op: OpNative, Keyword: "native", Modifiers: []Modifier{modNoexcept, modCatchall, modNounwind}, Body: true, Code: 22},
	{Op: OpHold, Keyword: "hold", Arg: ArgObject, Inside: OpNative, Fallback: OpUse, Code: 15, place: placeInside(OpHold, OpNative)},
	{Op: OpCleanup, Keyword: "cleanup", Modifiers: []Modifier{modOnUnwind}, Body: true, Inside: OpNative, Fallback: OpNative, Code: 23, place: placeInside(OpCleanup, OpNative)},
	{Op: OpLoop, Keyword: "loop", Arg: ArgCount, Body: true, Code: 24},
	{Op: OpForever, Keyword: "forever", Body: true, Code: 25},
	{Op: OpYield, Keyword: "yield", Code: 0},
	{Op: OpExit, Keyword: "exit", Arg: ArgCode, Code: 26, place: placeExit, Fallback: OpYield},
	{Op: OpIf, Keyword: "if", Word: "finalizing", Body: true, Else: true, Code: 27},
	{Op: OpUntil, Keyword: "until", Arg: ArgEvent, Body: true, Code: 28},
	{Op: OpPark, Keyword: "park", Code: 29, place: placePark, Fallback: OpYield},
	{Op: OpAtThreadExit, Keyword: "atthreadexit", Modifiers: []Modifier{modTLSNative}, Body: true, Code: 30, place: placeAtThreadExit, Fallback: OpLoop},
	{Op: OpInterpGuard, Keyword: "interp_guard", Arg: ArgGuard, Code: 31, MinMinor: 15, Fallback: OpYield},
	{Op: OpInterpGuardBlock, Keyword: "interp_guard", Arg: ArgGuard, Body: true, Else: true, Code: 32, MinMinor: 15, Fallback: OpIf},
	{Op: OpClose, Keyword: "close", Arg: ArgGuard, Code: 33, MinMinor: 15, Fallback: OpYield},
	{Op: OpEnsureGuard, Keyword: "ensure", Arg: ArgGuard, Code: 34, MinMinor: 15, Fallback: OpEnsure},
	{Op: OpEnsureView, Keyword: "ensure", Word: "view", Body: true, Else: true, Code: 35, MinMinor: 15, Fallback: OpIf},
	{Op: OpIfGuarded, Keyword: "if", Word: "guarded", Arg: ArgGuard, Body: true, Else: true, Code: 36, MinMinor: 15, Fallback: OpIf},
}

// forms returns the rows of keyword kw: one, or several told apart by
// their Word and by a block after the operand (ensure, ensure G, ensure
// view; if finalizing, if guarded G; interp_guard G, interp_guard G { }).
func forms(kw string) []*Syntax {
	var out []*Syntax
	for i := range Syntaxes {
		if Syntaxes[i].Keyword == kw {
			out = append(out, &Syntaxes[i])
		}
	}
	return out
}

// The fuzz codes: a statement's op byte b is code b%legacyCodes (the 31
// statements of v1 and v2 have codes 0..30, yield 0, so that zero bytes
// decode to yields), except b == extendedCode, which reads one more byte c:
// code legacyCodes+c. Statements added later take codes from legacyCodes
// on, so that no stored input changes meaning when one is added. (254 was
// chosen because no input stored before the codes were fixed has it as an
// op byte: they all decode as they did; fuzz's TestStoredInputsDecodeAsBefore.)
const (
	legacyCodes  = 31
	extendedCode = 254
)

// coded is what a fuzz code stands for: a row, and the modifier with a
// code of its own that the code sets (nil for the row's own code).
type coded struct {
	syn *Syntax
	mod *Modifier
}

// byCode maps a fuzz code to its row (and modifier).
var byCode = func() map[int]coded {
	m := map[int]coded{}
	for i := range Syntaxes {
		syn := &Syntaxes[i]
		m[syn.Code] = coded{syn: syn}
		for j := range syn.Modifiers {
			if mod := &syn.Modifiers[j]; mod.Code != 0 {
				m[mod.Code] = coded{syn, mod}
			}
		}
	}
	return m
}()

// SyntaxOf returns the row of op, and false for an op that is not a
// statement.
func SyntaxOf(op Op) (Syntax, bool) {
	i := int(op) - 1
	if i < 0 || i >= len(Syntaxes) {
		return Syntax{}, false
	}
	return Syntaxes[i], true
}

// syntaxOf is SyntaxOf for an op known to be a statement (a zero row
// otherwise).
func syntaxOf(op Op) *Syntax {
	i := int(op) - 1
	if i < 0 || i >= len(Syntaxes) {
		return &Syntax{}
	}
	return &Syntaxes[i]
}

// hasBody reports whether statements with op carry a block.
func hasBody(op Op) bool { return syntaxOf(op).Body }

// modifierWords lists the words of mods, for error messages.
func modifierWords(mods []Modifier) []string {
	out := make([]string, len(mods))
	for i, m := range mods {
		out[i] = m.Word
	}
	return out
}

// TopBlock is a top-level block of a scenario: main, a thread block of each
// kind (plain or replicated), or an atexit, teardown or after_finalize
// block.
type TopBlock struct {
	Name string     // as it is written: "main", "daemon", "daemon NAME[N]", "atexit"
	Kind ThreadKind // for thread blocks
	// Replicated is a NAME[N] block; Thread tells a thread block from the
	// blocks that run on main during finalization.
	Replicated, Thread bool
}

// TopBlocks lists every kind of top-level block.
var TopBlocks = []TopBlock{
	{Name: "main", Kind: Main, Thread: true},
	{Name: "thread", Kind: Thread, Thread: true},
	{Name: "daemon", Kind: Daemon, Thread: true},
	{Name: "foreign", Kind: Foreign, Thread: true},
	{Name: "daemon NAME[N]", Kind: Daemon, Thread: true, Replicated: true},
	{Name: "atexit"},
	{Name: "teardown"},
	{Name: "after_finalize"},
}

// ReleaseMinor returns the minor version Y of the release on a preset
// line (the last one named), or DefaultRelease.
func ReleaseMinor(presets []string) int {
	minor := DefaultRelease
	for _, p := range presets {
		if m, _, ok := PresetVersion(p); ok {
			minor = m
		}
	}
	return minor
}

// tooOld says why a statement of row syn cannot stand in a scenario of
// release 3.minor, or "".
func (syn *Syntax) tooOld(minor int) string {
	if minor >= syn.MinMinor {
		return ""
	}
	what := syn.Op.String()
	if syn.Word != "" {
		what += " " + syn.Word
	} else if syn.Arg == ArgGuard && syn.Op == OpEnsureGuard {
		what += " GUARD"
	}
	return fmt.Sprintf("%s needs CPython 3.%d or later (PEP 788 interpreter guards); this scenario runs as 3.%d (name the release on its preset line: preset cpython-3.%d)", what, syn.MinMinor, minor, syn.MinMinor)
}
