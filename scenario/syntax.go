package scenario

// The language's list of statements and of the blocks statements stand in.
// Tests that must cover every statement in every place (the runtime's
// structural property test, the oracle's after_finalize attribution test)
// are generated from these lists, so that a new statement is covered by
// adding its row here.

// Arg is the operand a statement takes after its keyword.
type Arg uint8

const (
	ArgNone   Arg = iota
	ArgThread     // a thread, or a replicated block NAME[N] as a whole
	ArgObject     // an object
	ArgLock       // a C-level mutex
	ArgEvent      // an event
	ArgCount      // a count, 1..MaxCount
	ArgCode       // an exit code, 0..255
	ArgText       // a quoted string
)

// Modifier is a word that may follow a statement's keyword ("spawn t
// nowait", "native noexcept", "cleanup unwind"), and the field it sets.
type Modifier struct {
	Word string
	Set  func(*Stmt)
}

// Syntax is one statement of the language: its operand, modifiers and
// blocks, and where it must stand.
type Syntax struct {
	Op        Op
	Arg       Arg
	Modifiers []Modifier
	Body      bool // it has a { } block
	Else      bool // it may have an else block (if)
	// Inside is the statement it must stand directly inside
	// (OpInvalid: anywhere).
	Inside Op
}

var (
	modNowait   = Modifier{"nowait", func(st *Stmt) { st.Nowait = true }}
	modFlush    = Modifier{"flush", func(st *Stmt) { st.Flush = true }}
	modNoexcept = Modifier{"noexcept", func(st *Stmt) { st.Noexcept = true }}
	modCatchall = Modifier{"catchall", func(st *Stmt) { st.Catchall = true }}
	modNounwind = Modifier{"nounwind", func(st *Stmt) { st.Nounwind = true }}
	modOnUnwind = Modifier{"unwind", func(st *Stmt) { st.OnUnwind = true }}
)

// Syntaxes lists every statement, in Op order.
var Syntaxes = []Syntax{
	{Op: OpSpawn, Arg: ArgThread, Modifiers: []Modifier{modNowait}},
	{Op: OpJoin, Arg: ArgThread},
	{Op: OpWork, Arg: ArgCount},
	{Op: OpIO},
	{Op: OpPrint, Arg: ArgText, Modifiers: []Modifier{modFlush}},
	{Op: OpAcquire},
	{Op: OpRelease},
	{Op: OpEnsure},
	{Op: OpUnensure},
	{Op: OpNew, Arg: ArgObject},
	{Op: OpLocal, Arg: ArgObject},
	{Op: OpPublish, Arg: ArgObject},
	{Op: OpIncref, Arg: ArgObject},
	{Op: OpDecref, Arg: ArgObject},
	{Op: OpUse, Arg: ArgObject},
	{Op: OpGuard, Arg: ArgObject},
	{Op: OpLock, Arg: ArgLock},
	{Op: OpUnlock, Arg: ArgLock},
	{Op: OpSet, Arg: ArgEvent},
	{Op: OpWait, Arg: ArgEvent},
	{Op: OpNative, Modifiers: []Modifier{modNoexcept, modCatchall, modNounwind}, Body: true},
	{Op: OpHold, Arg: ArgObject, Inside: OpNative},
	{Op: OpCleanup, Modifiers: []Modifier{modOnUnwind}, Body: true, Inside: OpNative},
	{Op: OpLoop, Arg: ArgCount, Body: true},
	{Op: OpForever, Body: true},
	{Op: OpYield},
	{Op: OpExit, Arg: ArgCode},
	{Op: OpIf, Body: true, Else: true},
	{Op: OpUntil, Arg: ArgEvent, Body: true},
	{Op: OpPark},
	{Op: OpAtThreadExit, Body: true},
}

// SyntaxOf returns the row of op, and false for an op that is not a
// statement.
func SyntaxOf(op Op) (Syntax, bool) {
	i := int(op) - 1
	if i < 0 || i >= len(Syntaxes) {
		return Syntax{}, false
	}
	return Syntaxes[i], true
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
