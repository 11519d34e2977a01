package runtime

import (
	"encoding/binary"
	"fmt"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// This file gives the exhaustive explorer (package exhaustive) what it
// needs of a run: at every scheduling point, a key that holds everything
// that can influence the rest of the run, so that two points with the same
// key have the same futures.
//
// A thread's position is its Go stack (a coroutine's, chaos/coro.go),
// which is not data. The key captures it in two parts: the return
// addresses of the thread's frames at the point where it parked (which
// helper, which call site, how deep in native frames and cleanup bodies;
// read by following the frame pointers, frames_fp.go, which costs a few
// ns a frame where runtime.Callers' unwinding costs a hundred: both tell
// the same positions apart, which TestKeyPositionsMatchCallers checks over
// the library), and the thread's
// pos stack, which stmt keeps: the statement at each level, the iteration
// of a work or loop statement, and whether a blocking call there dropped
// the GIL it will take back. Counters of forever loops are not kept: their
// iterations are one state. The rule for anyone editing the model: a Go
// local that lives across a scheduling point and changes what happens
// after it must be in the pos stack (or in Interp or thread data).

// posEntry is one level of a thread's position.
type posEntry struct {
	st   *scenario.Stmt
	iter int32 // iteration of a work or loop statement
	had  bool  // a blocking call here dropped the GIL and will retake it
}

func (t *thread) enter(st *scenario.Stmt) { t.pos = append(t.pos, posEntry{st: st}) }
func (t *thread) leave()                  { t.pos = t.pos[:len(t.pos)-1] }
func (t *thread) setIter(i int)           { t.pos[len(t.pos)-1].iter = int32(i) }

// noteRetake records a blocking call's "had the GIL" in the position.
func (t *thread) noteRetake(had bool) {
	if len(t.pos) == 0 {
		t.posHad = had
		return
	}
	t.pos[len(t.pos)-1].had = had
}

// A Chooser drives a run from the model's state: at every scheduling
// point it picks the next thread (one of p.Runnable) or stops the run.
type Chooser interface {
	Choose(p *Point) (id int, stop bool)
}

// StateTable numbers statements and interns goroutine positions for state
// keys. Keys made with one table, or with tables forked from it (Fork),
// compare across runs of one scenario. A table serves one run at a time;
// forked tables may serve concurrent runs.
type StateTable struct {
	stmts   map[*scenario.Stmt]uint32
	objects []string // object names, sorted
	locks   []string
	events  []string
	shared  *stackInterner
	local   map[string]uint32 // this table's cache of shared
	cstacks map[string]uint32 // the positions from runtime.Callers (keyCheck)
	prep    prepared          // for the runs of RunChooser
	pcs     []uintptr
	pcbuf   []byte
}

// stackInterner numbers goroutine positions for all the tables forked from
// one: the numbers are in keys, so they must agree between the tables.
type stackInterner struct {
	mu sync.Mutex
	m  map[string]uint32
}

// NewStateTable prepares keys for runs of s.
func NewStateTable(s *scenario.Scenario) *StateTable {
	tab := &StateTable{stmts: map[*scenario.Stmt]uint32{}, shared: &stackInterner{m: map[string]uint32{}},
		local: map[string]uint32{}, cstacks: map[string]uint32{}, pcs: make([]uintptr, 64)}
	objs, locks, events := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, b := range s.Bodies() {
		scenario.Walk(b, func(st *scenario.Stmt) {
			tab.stmts[st] = uint32(len(tab.stmts) + 1)
			switch st.Op {
			case scenario.OpNew, scenario.OpLocal:
				objs[st.Name] = true
			case scenario.OpLock, scenario.OpUnlock:
				locks[st.Name] = true
			case scenario.OpSet, scenario.OpWait:
				events[st.Name] = true
			}
		})
	}
	tab.objects, tab.locks, tab.events = sortedKeys(objs), sortedKeys(locks), sortedKeys(events)
	return tab
}

// Fork returns a table whose keys compare with tab's (the same statement
// numbers and one numbering of goroutine positions, shared under a lock)
// for use by another goroutine: each table keeps its own buffers, so the
// tables forked from one may serve runs at the same time. The numbers of
// positions then depend on the order in which the runs first meet them:
// keys are comparable within one family of tables, not across families.
func (tab *StateTable) Fork() *StateTable {
	return &StateTable{stmts: tab.stmts, objects: tab.objects, locks: tab.locks, events: tab.events,
		shared: tab.shared, local: map[string]uint32{}, cstacks: map[string]uint32{}, pcs: make([]uintptr, len(tab.pcs))}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stacks reports how many distinct goroutine positions the table (and the
// tables forked from it) have seen.
func (tab *StateTable) Stacks() int {
	tab.shared.mu.Lock()
	defer tab.shared.mu.Unlock()
	return len(tab.shared.m)
}

// Point is one scheduling point of a run driven by a Chooser.
type Point struct {
	Step     int   // 0-based index of the choice
	Runnable []int // threads that can run, increasing
	Cur      int   // the thread that reached the point
	in       *Interp
	tab      *StateTable
	stack    []uint32 // per thread: interned goroutine position, 0 = not started
}

// Capture records where the current thread's goroutine is parked. Key
// calls it; a chooser that skips keys on a replayed prefix must call it at
// each thread's last point there. Only the frames from the strategy's
// Choose down count, so the chooser's own call path does not matter.
func (p *Point) Capture() {
	tab := p.tab
	id := tab.intern(nil, tab.frames(framePCs))
	if keyCheck.Load() {
		callers := func(buf []uintptr) int { return goruntime.Callers(1, buf) }
		if cid := tab.intern(tab.cstacks, tab.frames(callers)); cid != id {
			panic(fmt.Sprintf("runtime: the frame pointers give position %d, runtime.Callers %d", id, cid))
		}
	}
	p.stack[p.Cur] = id
}

// keyCheck makes Capture also intern each position from runtime.Callers
// and check that both give it the same number: that the frame-pointer
// walk tells exactly the same positions apart (tests).
var keyCheck atomic.Bool

// frames returns the return addresses walk finds, from the frame of
// chooserStrategy.Choose outwards, in tab.pcs.
func (tab *StateTable) frames(walk func([]uintptr) int) []uintptr {
	n := walk(tab.pcs)
	for n == len(tab.pcs) {
		tab.pcs = make([]uintptr, 2*len(tab.pcs))
		n = walk(tab.pcs)
	}
	pcs := tab.pcs[:n]
	return pcs[chooseFrame(pcs):]
}

// intern numbers the position pcs, from 1 in the order first seen: in the
// numbering shared by the tables forked from one (stacks nil; the table's
// own cache first), or in stacks (keyCheck's numbering).
func (tab *StateTable) intern(stacks map[string]uint32, pcs []uintptr) uint32 {
	tab.pcbuf = tab.pcbuf[:0]
	for _, pc := range pcs {
		tab.pcbuf = binary.LittleEndian.AppendUint64(tab.pcbuf, uint64(pc))
	}
	if stacks != nil {
		id, ok := stacks[string(tab.pcbuf)]
		if !ok {
			id = uint32(len(stacks) + 1)
			stacks[string(tab.pcbuf)] = id
		}
		return id
	}
	if id, ok := tab.local[string(tab.pcbuf)]; ok {
		return id
	}
	sh := tab.shared
	sh.mu.Lock()
	id, ok := sh.m[string(tab.pcbuf)]
	if !ok {
		id = uint32(len(sh.m) + 1)
		sh.m[string(tab.pcbuf)] = id
	}
	sh.mu.Unlock()
	tab.local[string(tab.pcbuf)] = id
	return id
}

// chooseRet is the return address inside chooserStrategy.Choose of its
// call to the chooser (one call site, so one address), found once.
var chooseRet atomic.Uintptr

// chooseFrame returns the index of chooserStrategy.Choose's frame in pcs.
func chooseFrame(pcs []uintptr) int {
	if ret := chooseRet.Load(); ret != 0 {
		if i := slices.Index(pcs, ret); i >= 0 {
			return i
		}
	}
	for i, pc := range pcs {
		if f := goruntime.FuncForPC(pc - 1); f != nil && strings.HasSuffix(f.Name(), ".(*chooserStrategy).Choose") {
			chooseRet.Store(pc)
			return i
		}
	}
	panic("runtime: Point.Capture called outside a chooser")
}

// Stacks appends the goroutine positions the point knows (one per thread)
// to b. A chooser that replays a prefix to a state can restore them there
// with SetStacks instead of capturing each thread's last point.
func (p *Point) Stacks(b []uint32) []uint32 { return append(b, p.stack...) }

// SetStacks restores positions saved by Stacks at the same state.
func (p *Point) SetStacks(s []uint32) { copy(p.stack, s) }

// Waiting describes what thread id waits for, or "" when it can run (or
// has not been spawned).
func (p *Point) Waiting(id int) string {
	if c := p.in.cc; c != nil {
		if w := c.Waiting(id); w != nil && !w.Ready() {
			return w.String()
		}
	}
	return ""
}

// Phase is where main is in finalization ("body", "atexit", ...).
func (p *Point) Phase() string { return p.in.phase }

// Thread names thread id.
func (p *Point) Thread(id int) string { return p.in.threads[id].name }

// RunChooser runs s once under cfg (its Schedule and Strategy are ignored)
// with ch picking at every scheduling point. A run that ch stops returns a
// Result with an empty Outcome.
func RunChooser(s *scenario.Scenario, cfg Config, tab *StateTable, ch Chooser) (*Result, error) {
	ad := &chooserStrategy{ch: ch, pt: Point{tab: tab}}
	cfg.Strategy, cfg.StrategyName, cfg.Wild = ad, "exhaustive", nil
	if tab.prep.override != cfg.Policy || tab.prep.policy == "" {
		p, err := prepare(s, cfg.Policy)
		if err != nil {
			return nil, err
		}
		tab.prep = p
	}
	in, err := newInterp(s, cfg, &tab.prep)
	if err != nil {
		return nil, err
	}
	ad.pt.in = in
	ad.pt.stack = make([]uint32, len(in.threads))
	return in.run()
}

type chooserStrategy struct {
	ch   Chooser
	pt   Point
	step int
}

func (c *chooserStrategy) Choose(runnable []int, cur int) int {
	c.pt.Step, c.pt.Runnable, c.pt.Cur = c.step, runnable, cur
	c.step++
	id, stop := c.ch.Choose(&c.pt)
	if stop {
		c.pt.in.ctl.Halt(nil) // runs on the current thread's stack: it unwinds here
	}
	if !slices.Contains(runnable, id) {
		panic("runtime: a chooser picked a thread that cannot run")
	}
	return id
}
