package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The model as a step function (docs/step-function.md, stage 2): the
// interpreter state is one value (VMState) whose threads keep their
// position as a stack of frames, and Machine.Step runs one thread from its
// position to its next scheduling point. A branch of the exhaustive search
// then goes on from a copy of its parent instead of replaying its prefix.
//
// The step function covers a subset of the language for now (Supports:
// threads and daemons, spawn, join, work, io, yield, lock, unlock, set,
// loop, forever, until, if finalizing, acquire, release, park, atexit and
// teardown blocks, every preset before 3.15's guards and the five policies
// and two callbacks; objects in vm_heap.go, native frames with their
// items and the forced unwind in vm_native.go). It takes the same
// scheduling points as the goroutine model (interp.go), so that a
// schedule found here replays there: the exhaustive search replays each
// witness in the controlled mode and fails loudly when the two disagree,
// and TestStepFunctionAgrees compares the outcome sets of both on the
// library and on generated scenarios. Every rule below restates one of the
// goroutine model's, which cites its source; the function it restates is
// named at each.

// ErrUnsupported marks a scenario that uses something the step function
// does not model yet.
var ErrUnsupported = errors.New("not modelled by the step function yet")

// Machine is a scenario compiled for the step function under one policy.
// It is read-only once compiled: the search's workers share it, and
// WithPolicy's copies share its arrays.
type Machine struct {
	sc     *scenario.Scenario
	preset Preset
	action string // the policy, or the exit callback when there is one
	policy string // the policy (Result.Policy)
	// noStrike: must-exit checks do nothing (Config.NoStrike).
	noStrike bool
	blocks   [][]*scenario.Stmt // by block id
	// blockAt is where the ids of each block's statements start in order
	// (by block id): the statement at index i of block b has id
	// order[blockAt[b]+i] (stmtID).
	blockAt []int32
	order   []int16
	stmts   []*scenario.Stmt // by statement id
	sub     []subBlocks      // by statement id
	locks   map[string]int16 // nil while the scenario has none, like the maps below
	events  map[string]uint
	objs    map[string]int16 // object name ids (vm_heap.go)
	stacks  bool             // the scenario has native frames or locals (vm_native.go)
	thread  []int16          // block id of each thread's body
	atexit  []int16
	teard   []int16
	after   []int16 // after_finalize blocks
	// hasEnsure: the scenario has an ensure (Interp.hasEnsure).
	hasEnsure bool
	// spawnRefused is the exception of a refused thread start, worded
	// once (raise).
	spawnRefused string
	guardNames   map[string]int8
	group        map[int16][]int // by statement id: the copies a spawn or join of NAME[N] addresses
	// live holds the liveness rule's operation sets (vm_live.go).
	live liveSets
}

// subBlocks are the block ids of a statement's body and else block; 0
// when it has none (block 0 is main's body, never a statement's).
type subBlocks struct{ body, els int16 }

// stmtID is the id of the statement at index i of block b.
func (m *Machine) stmtID(b int16, i int) int16 { return m.order[int(m.blockAt[b])+i] }

// supportedOps are the statements the step function models (by Op, a
// byte).
var supportedOps = [256]bool{
	scenario.OpSpawn: true, scenario.OpJoin: true, scenario.OpWork: true, scenario.OpIO: true,
	scenario.OpYield: true, scenario.OpLock: true, scenario.OpUnlock: true, scenario.OpSet: true,
	scenario.OpLoop: true, scenario.OpForever: true, scenario.OpUntil: true, scenario.OpIf: true,
	scenario.OpAcquire: true, scenario.OpRelease: true, scenario.OpPark: true, scenario.OpWait: true,
	scenario.OpEnsure: true, scenario.OpUnensure: true, scenario.OpExit: true, scenario.OpPrint: true, scenario.OpAtThreadExit: true,
	scenario.OpInterpGuard: true, scenario.OpInterpGuardBlock: true, scenario.OpClose: true,
	scenario.OpEnsureGuard: true, scenario.OpEnsureView: true, scenario.OpIfGuarded: true,
}

// NewMachine compiles s under policy ("" keeps the scenario's). It returns
// an error wrapping ErrUnsupported when the step function does not model
// something s uses, and ErrUsage for an unknown policy or preset.
// Compiling is cheap (a few passes over the statements, no per-statement
// maps): the controlled mode compiles each scenario it runs. WithPolicy
// gives the same machine under another policy without compiling again.
func NewMachine(s *scenario.Scenario, policy string) (*Machine, error) {
	policy, preset, err := ResolvePolicy(s, policy)
	if err != nil {
		return nil, err
	}
	m := &Machine{sc: s, preset: preset, action: actionOf(s, policy), policy: policy, spawnRefused: spawnRefusedWords(preset.Release.Minor)}
	m.objs, m.stacks = objectIDs(s)
	stmts, blocks := countStmts(s)
	m.blocks, m.blockAt = make([][]*scenario.Stmt, 0, blocks), make([]int32, 0, blocks)
	m.stmts, m.sub, m.order = make([]*scenario.Stmt, 0, stmts), make([]subBlocks, 0, stmts), make([]int16, 0, stmts)
	m.thread = make([]int16, len(s.Threads))
	for i, d := range s.Threads {
		if m.thread[i], err = m.compile(d.Body); err != nil {
			return nil, err
		}
		if i == 0 {
			m.live.from = len(m.stmts)
		}
	}
	m.live.to = len(m.stmts)
	for _, list := range []struct {
		blocks []*scenario.Block
		ids    *[]int16
	}{{s.Atexit, &m.atexit}, {s.Teardown, &m.teard}, {s.AfterFinalize, &m.after}} {
		for _, b := range list.blocks {
			id, err := m.compile(b.Body)
			if err != nil {
				return nil, err
			}
			*list.ids = append(*list.ids, id)
		}
	}
	if len(m.events) > 64 || len(m.locks) > 120 || len(s.Threads) > 120 {
		return nil, fmt.Errorf("%w: more than 64 events or 120 locks or threads", ErrUnsupported)
	}
	// The liveness sets of every statement, computed here so that Step
	// only reads the Machine (workers share it).
	m.liveness()
	return m, nil
}

// actionOf is what strike does under policy: the policy, or the exit
// callback when s has one (ResolvePolicy has checked policy).
func actionOf(s *scenario.Scenario, policy string) string {
	if s.Callback != "" {
		return s.Callback
	}
	return policy
}

// WithPolicy returns m under policy ("" keeps the scenario's, as
// NewMachine): the same compiled machine, with the thread-exit policy
// strike applies replaced (the exit callback, when the scenario has one,
// still replaces any policy). Only the action depends on the policy: the
// preset comes from the scenario's preset lines, and the blocks,
// statement ids, names and liveness sets from its statements. The copy
// shares m's arrays, which neither changes; a machine from WithPolicy
// behaves as NewMachine(s, policy) does, and it returns ErrUsage as
// NewMachine does for an unknown policy.
func (m *Machine) WithPolicy(policy string) (*Machine, error) {
	policy, _, err := ResolvePolicy(m.sc, policy)
	if err != nil {
		return nil, err
	}
	c := *m
	c.action = actionOf(m.sc, policy)
	return &c, nil
}

// countStmts counts the statements of s and the blocks compile gives an
// id (an upper bound of what it compiles), to size the machine's arrays.
func countStmts(s *scenario.Scenario) (stmts, blocks int) {
	var count func(body []*scenario.Stmt)
	count = func(body []*scenario.Stmt) {
		blocks++
		for _, st := range body {
			stmts++
			row := syntaxRows[st.Op]
			if row.body {
				count(st.Body)
			}
			if row.els {
				count(st.Else)
			}
		}
	}
	eachBody(s, count)
	return stmts, blocks
}

// eachBody calls fn with every top-level body of s, in the order of
// scenario.Bodies (threads, atexit, teardown, after_finalize).
func eachBody(s *scenario.Scenario, fn func([]*scenario.Stmt)) {
	for _, d := range s.Threads {
		fn(d.Body)
	}
	for _, list := range [...][]*scenario.Block{s.Atexit, s.Teardown, s.AfterFinalize} {
		for _, b := range list {
			fn(b.Body)
		}
	}
}

// compile gives body and every block inside it an id, and each of their
// statements an id (in the order of scenario.Walk).
func (m *Machine) compile(body []*scenario.Stmt) (int16, error) {
	id := int16(len(m.blocks))
	m.blocks = append(m.blocks, body)
	at := len(m.order)
	m.blockAt = append(m.blockAt, int32(at))
	m.order = append(m.order, make([]int16, len(body))...)
	for i, st := range body {
		if !supportedOps[st.Op] {
			return 0, fmt.Errorf("%w: statement %s at %d:%d", ErrUnsupported, st.Op, st.Pos.Line, st.Pos.Col)
		}
		sid := int16(len(m.stmts))
		m.order[at+i] = sid
		m.stmts = append(m.stmts, st)
		m.sub = append(m.sub, subBlocks{})
		m.name(st, sid)
		if err := m.compileBlocks(st, sid); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// compileBlocks compiles the body and else block of statement sid.
func (m *Machine) compileBlocks(st *scenario.Stmt, sid int16) error {
	row := syntaxRows[st.Op]
	if row.body {
		b, err := m.compile(st.Body)
		if err != nil {
			return err
		}
		m.sub[sid].body = b
	}
	if row.els {
		b, err := m.compile(st.Else)
		if err != nil {
			return err
		}
		m.sub[sid].els = b
	}
	return nil
}

// name gives the lock, guard or event statement sid names an id, and
// records the copies a spawn or join of NAME[N] addresses; it notes an
// ensure.
func (m *Machine) name(st *scenario.Stmt, sid int16) {
	m.hasEnsure = m.hasEnsure || st.Op == scenario.OpEnsure
	switch st.Op {
	case scenario.OpLock, scenario.OpUnlock:
		if _, ok := m.locks[st.Name]; !ok {
			if m.locks == nil {
				m.locks = map[string]int16{}
			}
			m.locks[st.Name] = int16(len(m.locks))
		}
	case scenario.OpInterpGuard, scenario.OpInterpGuardBlock, scenario.OpClose, scenario.OpEnsureGuard, scenario.OpIfGuarded:
		m.guardName(st.Name)
	case scenario.OpSet, scenario.OpUntil, scenario.OpWait:
		if _, ok := m.events[st.Name]; !ok {
			if m.events == nil {
				m.events = map[string]uint{}
			}
			m.events[st.Name] = uint(len(m.events))
		}
	case scenario.OpSpawn, scenario.OpJoin:
		if m.sc.Thread(st.Name) < 0 {
			if ids := m.sc.Named(st.Name); len(ids) > 0 {
				if m.group == nil {
					m.group = map[int16][]int{}
				}
				m.group[sid] = ids
			}
		}
	}
}

// VMState is the whole interpreter state of the step function: values and
// indices only, so that Clone is a few copies.
type VMState struct {
	holder, last, requester int8 // the GIL: holder, last holder, drop requester (-1: none)
	dropReq                 bool
	stdout                  int8  // the stdout lock's holder, -1: free
	phase                   uint8 // finalization phase (vmPhases)
	flags                   uint8 // vmFinalizeStarted, ...
	events                  uint64
	locks                   []int8 // holder per lock id, -1 free
	threads                 []vmThread
	guards                  []vmGuard // PEP 788's guards that are held
	nextGuard               int32     // the id of the next guard (not in the key)

	// heap holds the objects (vm_heap.go); stacks the threads' native
	// frames and locals, nil in a scenario without them (vm_native.go).
	heap   vmHeap
	stacks []vmStack
}

const (
	vmFinalizeStarted uint8 = 1 << iota
	vmFinalizing
	vmTstatesFreed
	vmBuffered // the stdout buffer holds data not written yet
	vmRefusing // no interpreter guard is granted any more
	vmWaiting  // main is in the guard wait
	vmAfterFinalize
)

// vmPhases are the finalization phases (Interp.phase) by index.
var vmPhases = [...]string{"body", "wait-threads", "atexit", "finalizing", "flush", "teardown", "collect", "free-tstates", "exited", PhaseGILStateFini, phaseWaitGuards, PhaseAfterFinalize}

const (
	vmPhaseGILStateFini = 9
	vmPhaseWaitGuards   = 10
	vmPhaseAfter        = 11
)

type vmThread struct {
	flags   uint16
	endHow  uint8
	wait    uint8 // a vmWait kind; 0: not blocked
	waitArg int8
	frames  []vmFrame
	ensures []bool // the ensure stack: whether each ensure took the GIL
}

// Thread flags (the goroutine model's thread fields).
const (
	tSpawned uint16 = 1 << iota
	tBegan
	tEnded
	tExiting
	tHung
	tInCall
	tMarked
	tHasGIL
	tWaitingGIL
	tTstate
	tTstateFreed
	tStepped     // sinceTake >= 1
	tDone        // its goroutine would have exited
	tStdoutFatal // its wait for the stdout lock began after the flag
)

func (t *vmThread) is(f uint16) bool { return t.flags&f != 0 }
func (t *vmThread) set(f uint16, v bool) {
	if v {
		t.flags |= f
	} else {
		t.flags &^= f
	}
}

// vmFrame is one level of a thread's position.
type vmFrame struct {
	kind  uint8
	phase uint8
	aux   int8  // a frame's flag (blocking: had the GIL) or wait argument
	a     int16 // block id, statement id, or wait kind
	i     int32 // index or iteration
}

// Initial returns the state where the first choice is made: main has taken
// the GIL and run to its first scheduling point. A halt there is returned
// as the terminal.
func (m *Machine) Initial() (*VMState, *Terminal) { return m.initial(nil) }

// initial is Initial, narrated by n unless it is nil.
func (m *Machine) initial(n *narrator) (*VMState, *Terminal) {
	s := &VMState{holder: -1, last: -1, requester: -1, stdout: -1, locks: make([]int8, len(m.locks)), heap: m.newHeap(), threads: make([]vmThread, len(m.sc.Threads))}
	if m.stacks {
		s.stacks = make([]vmStack, len(s.threads))
	}
	for i := range s.locks {
		s.locks[i] = -1
	}
	s.threads[0].flags = tSpawned
	s.threads[0].frames = []vmFrame{{kind: fMain}}
	if n != nil {
		return s, m.narrate(s, 0, n)
	}
	return s, m.Step(s, 0)
}

// Clone returns a copy of s that shares nothing mutable with it.
func (s *VMState) Clone() *VMState { return s.CloneInto(nil) }

// CloneInto is Clone into the memory of dst, a state that nothing uses
// any more (it is overwritten), or new memory when dst is nil: its struct
// and every array in it are reused where their capacity allows (a search
// that drops a state at the end of each run copies the next one into it).
// Each of a state's arrays is its own (Step appends to them, truncates
// them or replaces them with new ones, and copies share none), so no
// other state sees them. dst must not be s.
func (s *VMState) CloneInto(dst *VMState) *VMState {
	if dst == nil {
		dst = new(VMState)
	}
	old := *dst
	*dst = *s
	dst.locks = append(old.locks[:0], s.locks...)
	dst.guards = copyInto(old.guards, s.guards)
	dst.heap = s.heap.cloneInto(old.heap)
	dst.stacks = cloneStacksInto(old.stacks, s.stacks)
	dst.threads = cloneThreads(old.threads, s.threads)
	return dst
}

// copyInto copies src into buf's array (nil: a new one); nil stays nil.
func copyInto[T any](buf, src []T) []T {
	if src == nil {
		return nil
	}
	return append(buf[:0], src...)
}

// cloneThreads copies threads into buf, the threads of a state nothing
// uses any more (or nil), reusing their frames and ensure stacks.
func cloneThreads(buf, threads []vmThread) []vmThread {
	if cap(buf) < len(threads) {
		buf = make([]vmThread, len(threads))
	}
	buf = buf[:len(threads)]
	for i := range threads {
		frames, ensures := buf[i].frames, buf[i].ensures
		buf[i] = threads[i]
		if f := threads[i].frames; f != nil {
			if frames == nil {
				frames = make([]vmFrame, 0, len(f)+2)
			}
			buf[i].frames = append(frames[:0], f...)
		}
		if e := threads[i].ensures; e != nil {
			buf[i].ensures = append(ensures[:0], e...)
		}
	}
	return buf
}

// AppendKey appends s's exact encoding to b: two states with the same key
// have the same futures.
func (s *VMState) AppendKey(b []byte) []byte {
	b = append(b, byte(s.holder), byte(s.last), byte(s.requester), boolByte(s.dropReq), byte(s.stdout), s.phase, s.flags)
	b = binary.LittleEndian.AppendUint64(b, s.events)
	for _, l := range s.locks {
		b = append(b, byte(l))
	}
	b = append(b, byte(len(s.guards)))
	for _, g := range s.guards {
		b = append(b, byte(g.name), byte(g.holder), boolByte(g.scoped), boolByte(g.leaked))
	}
	b = s.heap.appendKey(b)
	for i := range s.threads {
		t := &s.threads[i]
		b = binary.LittleEndian.AppendUint16(b, t.flags)
		b = append(b, t.endHow, t.wait, byte(t.waitArg), byte(len(t.ensures)))
		for _, e := range t.ensures {
			b = append(b, boolByte(e))
		}
		b = append(b, byte(len(t.frames)))
		for _, f := range t.frames {
			b = append(b, f.kind, f.phase, byte(f.aux))
			b = binary.LittleEndian.AppendUint16(b, uint16(f.a))
			if f.kind == fGuardBlock { // the guard's position, not its id
				f.i = int32(slices.IndexFunc(s.guards, func(g vmGuard) bool { return g.id == f.i }))
			}
			b = binary.AppendVarint(b, int64(f.i))
		}
		if s.stacks != nil {
			b = s.stacks[i].appendKey(b)
		}
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Terminal is how a transition ended the run: the outcome and the report
// kind and operation, enough for Result.Defect.
type Terminal struct {
	Outcome Outcome
	Kind    string
	Op      string // the statement's operation where a defect reads it
	Thread  int
}

// Defect names the CPython defect that alone made the terminal, or "".
func (t *Terminal) Defect() string { return defectOf(t.Outcome, t.Kind, t.Op, t.Thread == 0) }

// syntaxRow is what compile reads of a statement's row of
// scenario.Syntaxes (SyntaxOf): whether it has a body, an else block, an
// object operand. syntaxRows holds them by Op (a byte), so that compiling
// reads no whole row.
type syntaxRow struct{ body, els, object bool }

var syntaxRows = func() (rows [256]syntaxRow) {
	for op := range rows {
		if row, ok := scenario.SyntaxOf(scenario.Op(op)); ok {
			rows[op] = syntaxRow{body: row.Body, els: row.Else, object: row.Arg == scenario.ArgObject}
		}
	}
	return rows
}()

// StepSupports reports whether the step function models statement op.
func StepSupports(op scenario.Op) bool { return supportedOps[op] }
