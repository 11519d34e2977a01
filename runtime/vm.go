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
type Machine struct {
	sc     *scenario.Scenario
	preset Preset
	action string // the policy, or the exit callback when there is one
	policy string // the policy (Result.Policy)
	// noStrike: must-exit checks do nothing (Config.NoStrike).
	noStrike bool
	blocks   [][]*scenario.Stmt       // by block id
	body     map[*scenario.Stmt]int16 // a statement's body block
	els      map[*scenario.Stmt]int16 // its else block
	stmts    []*scenario.Stmt         // by statement id
	sid      map[*scenario.Stmt]int16
	locks    map[string]int16
	events   map[string]uint
	objs     map[string]int16 // object name ids (vm_heap.go)
	stacks   bool             // the scenario has native frames or locals (vm_native.go)
	thread   []int16          // block id of each thread's body
	atexit   []int16
	teard    []int16
	after    []int16 // after_finalize blocks
	// hasEnsure: the scenario has an ensure (Interp.hasEnsure).
	hasEnsure bool
	// spawnRefused is the exception of a refused thread start, worded
	// once (raise).
	spawnRefused string
	guardNames   map[string]int8
	group        map[*scenario.Stmt][]int // the copies a spawn or join of NAME[N] addresses
	// The liveness rule's operations: what sets each event id, closes
	// each guard name id, and what each atthreadexit block holds.
	waitOps, closeOps []string
	tlsOps            map[*scenario.Stmt]map[string]bool
	// anywhere and future hold the liveness rule's statement sets
	// (liveness.go: opsAnywhere, futureOps).
	anywhere []map[string]bool
	future   map[*scenario.Stmt]map[string]bool
}

// supportedOps are the statements the step function models.
var supportedOps = map[scenario.Op]bool{
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
func NewMachine(s *scenario.Scenario, policy string) (*Machine, error) {
	policy, preset, err := ResolvePolicy(s, policy)
	if err != nil {
		return nil, err
	}
	m := &Machine{sc: s, preset: preset, action: policy, policy: policy,
		body: map[*scenario.Stmt]int16{}, els: map[*scenario.Stmt]int16{}, sid: map[*scenario.Stmt]int16{},
		locks: map[string]int16{}, events: map[string]uint{}, guardNames: map[string]int8{}, group: map[*scenario.Stmt][]int{},
		objs: objectIDs(s), stacks: usesStacks(s), spawnRefused: spawnRefusedWords(preset.Release.Minor)}
	if s.Callback != "" {
		m.action = s.Callback
	}
	for _, d := range s.Threads {
		b, err := m.compile(d.Body)
		if err != nil {
			return nil, err
		}
		m.thread = append(m.thread, b)
	}
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
	// futureOps of every statement of every thread's body, computed here
	// so that Step only reads the Machine (workers share it).
	m.future = map[*scenario.Stmt]map[string]bool{}
	m.tlsOps = map[*scenario.Stmt]map[string]bool{}
	for _, d := range s.Threads[1:] {
		scenario.Walk(d.Body, func(st *scenario.Stmt) {
			m.future[st] = futureOps(d.Body, st)
			if st.Op == scenario.OpAtThreadExit {
				m.tlsOps[st] = map[string]bool{}
				addOps(m.tlsOps[st], st.Body)
			}
		})
	}
	m.waitOps = make([]string, len(m.events))
	for name, e := range m.events {
		m.waitOps[e] = "set " + name
	}
	m.closeOps = make([]string, len(m.guardNames))
	for name, g := range m.guardNames {
		m.closeOps[g] = "close " + name
	}
	for i, d := range s.Threads {
		ops := map[string]bool{}
		addOps(ops, d.Body)
		if i == 0 {
			for _, b := range slices.Concat(s.Atexit, s.Teardown, s.AfterFinalize) {
				addOps(ops, b.Body)
			}
		}
		m.anywhere = append(m.anywhere, ops)
	}
	if len(m.events) > 64 || len(m.locks) > 120 || len(s.Threads) > 120 {
		return nil, fmt.Errorf("%w: more than 64 events or 120 locks or threads", ErrUnsupported)
	}
	return m, nil
}

// compile gives body and every block inside it an id.
func (m *Machine) compile(body []*scenario.Stmt) (int16, error) {
	id := int16(len(m.blocks))
	m.blocks = append(m.blocks, body)
	for _, st := range body {
		if !supportedOps[st.Op] {
			return 0, fmt.Errorf("%w: statement %s at %d:%d", ErrUnsupported, st.Op, st.Pos.Line, st.Pos.Col)
		}
		m.sid[st] = int16(len(m.stmts))
		m.hasEnsure = m.hasEnsure || st.Op == scenario.OpEnsure
		m.stmts = append(m.stmts, st)
		switch st.Op {
		case scenario.OpLock, scenario.OpUnlock:
			if _, ok := m.locks[st.Name]; !ok {
				m.locks[st.Name] = int16(len(m.locks))
			}
		case scenario.OpInterpGuard, scenario.OpInterpGuardBlock, scenario.OpClose, scenario.OpEnsureGuard, scenario.OpIfGuarded:
			m.guardName(st.Name)
		case scenario.OpSet, scenario.OpUntil, scenario.OpWait:
			if _, ok := m.events[st.Name]; !ok {
				m.events[st.Name] = uint(len(m.events))
			}
		case scenario.OpSpawn, scenario.OpJoin:
			if m.sc.Thread(st.Name) < 0 && len(m.sc.Named(st.Name)) > 0 {
				m.group[st] = m.sc.Named(st.Name)
			}
		}
		row, _ := scenario.SyntaxOf(st.Op)
		if row.Body {
			b, err := m.compile(st.Body)
			if err != nil {
				return 0, err
			}
			m.body[st] = b
		}
		if row.Else {
			b, err := m.compile(st.Else)
			if err != nil {
				return 0, err
			}
			m.els[st] = b
		}
	}
	return id, nil
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
func (t *Terminal) Defect() string { return defectOf(t.Outcome, t.Kind, t.Op) }

// StepSupports reports whether the step function models statement op.
func StepSupports(op scenario.Op) bool { return supportedOps[op] }
