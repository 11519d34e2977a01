package runtime

import (
	"encoding/binary"
	"math"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The step function's heap: objects as data (heap.go), the object
// statements (stmt.go), the sanitizer's reports (heap.go's uaf and
// decrefObject, afterfinalize.go's noGILAt) and the globals' DECREF of
// finalization's "collect" step (finalize.go). Each rule restates the
// goroutine model's function it names, which cites CPython's source.

func init() {
	for _, op := range []scenario.Op{scenario.OpNew, scenario.OpLocal, scenario.OpPublish,
		scenario.OpIncref, scenario.OpDecref, scenario.OpUse, scenario.OpGuard} {
		supportedOps[op] = true
	}
}

// vmObject is object: its refcount, whether it is freed or published, and
// the thread whose stack holds it (a local), -1 for a heap object. Its
// freedBy only words the report.
type vmObject struct {
	refs  int32
	owner int8
	flags uint8
}

const (
	oFreed uint8 = 1 << iota
	oPublished
)

// vmHeap is heap: the objects (indices into objs everywhere else), the
// object each name is bound to (by the machine's object name id, -1:
// none), and the published heap objects that step 6 DECREFs, in order.
// After every step the objects are renumbered in the order the key meets
// them and those nothing refers to are dropped (canon), as the goroutine
// model's key numbers them (state_key.go keyEnc.obj).
type vmHeap struct {
	objs    []vmObject
	bound   []int16
	globals []int16
}

// objectIDs numbers the object names of s in the order Walk meets them
// (nil when s has none), and reports whether s has native frames or
// locals (usesStacks, vm_native.go): one walk for both.
func objectIDs(s *scenario.Scenario) (ids map[string]int16, stacks bool) {
	var walk func(body []*scenario.Stmt)
	walk = func(body []*scenario.Stmt) {
		for _, st := range body {
			stacks = stacks || usesStack(st.Op)
			if syntaxRows[st.Op].object {
				if _, ok := ids[st.Name]; !ok {
					if ids == nil {
						ids = map[string]int16{}
					}
					ids[st.Name] = int16(len(ids))
				}
			}
			walk(st.Body)
			walk(st.Else)
		}
	}
	eachBody(s, walk)
	return ids, stacks
}

func (m *Machine) newHeap() vmHeap {
	h := vmHeap{bound: make([]int16, len(m.objs))}
	for i := range h.bound {
		h.bound[i] = -1
	}
	return h
}

// cloneInto copies h into the arrays of old, the heap of a state nothing
// uses any more (or the zero heap).
func (h vmHeap) cloneInto(old vmHeap) vmHeap {
	return vmHeap{objs: copyInto(old.objs, h.objs), bound: append(old.bound[:0], h.bound...), globals: copyInto(old.globals, h.globals)}
}

// create is heap.create: a new object with one reference, bound to name.
func (h *vmHeap) create(name int16, owner int) int16 {
	if len(h.objs) >= math.MaxInt16 {
		// The search's bound on key bytes stops a growing heap long before.
		panic("runtime: the step function has more than 32767 live objects")
	}
	o := int16(len(h.objs))
	h.objs = append(h.objs, vmObject{refs: 1, owner: int8(owner)})
	h.bound[name] = o
	return o
}

// heapStmt runs the statements of objects and native frames (st, whose
// id is id).
func (r *run) heapStmt(st *scenario.Stmt, id int16) stepEnd {
	switch st.Op {
	case scenario.OpNative, scenario.OpHold, scenario.OpCleanup:
		return r.nativeStmt(st, id) // vm_native.go
	}
	return r.objectStmt(st)
}

// objectStmt runs the object statements (stmt.go's init: new, local,
// publish, incref, decref, use; guard).
func (r *run) objectStmt(st *scenario.Stmt) stepEnd {
	h := &r.s.heap
	name := r.m.objs[st.Name]
	if st.Op == scenario.OpLocal {
		stk := r.stack()
		stk.locals = append(stk.locals, r.create(name, r.id, st.Name))
		return stepOn
	}
	if st.Op == scenario.OpGuard && r.s.flags&vmFinalizing != 0 && r.id != 0 {
		if r.tracing() {
			r.event(EvNote, guardSkippedWords(st.Name))
		}
		return stepOn // guard: finalizing, DECREF skipped
	}
	if !r.needGIL() {
		return r.noGILAt(st, h.bound[name], nil) // needGIL with decrefTarget
	}
	switch st.Op {
	case scenario.OpNew:
		r.create(name, -1, st.Name)
	case scenario.OpDecref, scenario.OpGuard:
		why := "decref"
		if st.Op == scenario.OpGuard {
			why = "guarded decref"
		}
		if o := h.bound[name]; o >= 0 {
			return r.decref(o, why)
		}
	default:
		o := h.bound[name]
		if o < 0 { // object: not created yet, no-op
			if r.tracing() {
				r.event(EvNote, notCreatedWords(st.Op.String(), st.Name))
			}
			return stepOn
		}
		if h.objs[o].flags&oFreed != 0 {
			return r.uaf(o, st.Op.String())
		}
		switch ob := &h.objs[o]; st.Op {
		case scenario.OpIncref:
			ob.refs++
		case scenario.OpPublish:
			if ob.flags&oPublished == 0 {
				ob.flags |= oPublished
				if ob.owner < 0 {
					h.globals = append(h.globals, o)
				}
			}
		}
	}
	return stepOn
}

// create is heap.create, naming the object name in a narrated run.
func (r *run) create(name int16, owner int, word string) int16 {
	o := r.s.heap.create(name, owner)
	if r.n != nil {
		for len(r.n.objName) <= int(o) {
			r.n.objName, r.n.freedBy = append(r.n.objName, ""), append(r.n.freedBy, "")
		}
		r.n.objName[o] = word
	}
	return o
}

// uaf is uaf: op of a freed object, on a freed stack or not.
func (r *run) uaf(o int16, op string) stepEnd {
	if ow := r.s.heap.objs[o].owner; ow >= 0 && r.s.threads[ow].is(tEnded) {
		return r.fail(Corruption, KindUAFStack, func() string {
			return uafStackWords(r.name(), op, r.n.objName[o], r.m.sc.Threads[ow].Name, r.n.freedBy[o])
		})
	}
	return r.fail(Corruption, KindUAFObject, func() string { return uafWords(r.name(), op, r.n.objName[o], r.n.freedBy[o]) })
}

// decref is decrefObject: one reference dropped (why: the operation); from
// a freed object, a refcount underflow (or a stack use after free).
func (r *run) decref(o int16, why string) stepEnd {
	ob := &r.s.heap.objs[o]
	if ob.flags&oFreed != 0 {
		if ob.owner >= 0 && r.s.threads[ob.owner].is(tEnded) {
			return r.uaf(o, why)
		}
		return r.fail(Corruption, KindUnderflow, func() string { return underflowWords(r.name(), why, r.n.objName[o], r.n.freedBy[o]) })
	}
	if ob.refs--; ob.refs == 0 {
		ob.flags |= oFreed
		if r.n != nil {
			r.n.freedBy[o] = freedByWords(r.name(), why)
			r.event(EvFree, r.n.objName[o])
		}
	}
	return stepOn
}

// noGILAt is noGILAt: st, which needs the GIL, run without it; o is the
// object a DECREF of st drops (-1: none); words the report (nil:
// needGIL's). A debug build makes a checked
// DECREF a fatal error: every one from 3.12, one that frees before.
// (after_finalize, which the step function leaves out, changes the kind.)
func (r *run) noGILAt(st *scenario.Stmt, o int16, words func() string) stepEnd {
	if words == nil { // needGIL's
		words = func() string { return noGILWords(r.name(), stmtOp(r.m.stmtAt(r.s, r.id))) }
	}
	if p := r.m.preset; p.Debug && debugDecrefOp(st.Op) {
		debug := func() string { return debugNoGILWords(p.DebugTstateCheck, words()) }
		if p.DebugTstateCheck {
			return r.failAt(st, Abort, KindFatalNoGIL, debug)
		}
		if o >= 0 && r.s.heap.objs[o].flags&oFreed == 0 && r.s.heap.objs[o].refs == 1 && !r.afterFinalize() {
			return r.failAt(st, Abort, KindFatalNoGIL, debug)
		}
	}
	if r.afterFinalize() {
		return r.failAt(st, Corruption, KindAfterFinalize, words)
	}
	return r.failAt(st, Corruption, KindNoGIL, words)
}

// collect is finalization's "collect" step (finalize): the published
// globals DECREF'd once each, in order, by main; then step 7's phase.
func (r *run) collect(f *vmFrame) stepEnd {
	for _, o := range r.s.heap.globals {
		if end := r.decref(o, "the globals' DECREF in finalization"); end != stepOn {
			return end
		}
	}
	return r.setPhase(f, 7, finFree)
}

// freeLocals is endThread's end of a thread's stack: its locals are freed.
func (r *run) freeLocals() {
	if r.s.stacks == nil {
		return
	}
	for _, o := range r.stack().locals {
		if r.n != nil && r.s.heap.objs[o].flags&oFreed == 0 {
			r.n.freedBy[o] = freedWithStackWords(r.name(), endHows[r.t.endHow])
		}
		r.s.heap.objs[o].flags |= oFreed
	}
}

// canon renumbers the objects in the order the key meets them (bound
// names by id, the globals, then each thread's frame items and locals)
// and drops those nothing refers to: two states whose heaps differ only
// in numbering or in garbage get one key, as keyEnc.obj gives them. A
// narrated run's tables (n, nil in the search) follow the renumbering.
func (s *VMState) canon(n *narrator) {
	h := &s.heap
	count := len(h.objs)
	if count == 0 {
		return
	}
	var buf [64]int16
	remap := buf[:0]
	if count <= len(buf) {
		remap = buf[:count]
	} else {
		remap = make([]int16, count)
	}
	for i := range remap {
		remap[i] = -1
	}
	next := int16(0)
	s.eachRef(func(o *int16) {
		if remap[*o] < 0 {
			remap[*o] = next
			next++
		}
	})
	same := int(next) == count
	for i := 0; same && i < count; i++ {
		same = remap[i] == int16(i)
	}
	if same {
		return
	}
	objs := make([]vmObject, next)
	for i, o := range h.objs {
		if remap[i] >= 0 {
			objs[remap[i]] = o
		}
	}
	h.objs = objs
	s.eachRef(func(o *int16) { *o = remap[*o] })
	if n != nil {
		n.renumber(remap, int(next))
	}
}

// renumber moves the narrator's object tables to the numbers remap gives
// (-1: dropped); next is the number of objects kept.
func (n *narrator) renumber(remap []int16, next int) {
	names, freed := make([]string, next), make([]string, next)
	for i, to := range remap {
		if to >= 0 && i < len(n.objName) {
			names[to], freed[to] = n.objName[i], n.freedBy[i]
		}
	}
	n.objName, n.freedBy = names, freed
}

// eachRef calls fn on every reference to an object, in key order.
func (s *VMState) eachRef(fn func(*int16)) {
	h := &s.heap
	for i := range h.bound {
		if h.bound[i] >= 0 {
			fn(&h.bound[i])
		}
	}
	for i := range h.globals {
		fn(&h.globals[i])
	}
	for t := range s.stacks {
		st := &s.stacks[t]
		for i := range st.items {
			if st.items[i].obj >= 0 {
				fn(&st.items[i].obj)
			}
		}
		for i := range st.locals {
			fn(&st.locals[i])
		}
	}
}

// appendKey appends the heap: canon has numbered the objects.
func (h *vmHeap) appendKey(b []byte) []byte {
	if len(h.bound) == 0 {
		return b // the scenario has no objects
	}
	b = binary.AppendUvarint(b, uint64(len(h.objs)))
	for _, o := range h.objs {
		b = binary.AppendVarint(b, int64(o.refs))
		b = append(b, byte(o.owner), o.flags)
	}
	for _, o := range h.bound {
		b = append(b, byte(o), byte(o>>8))
	}
	b = binary.AppendUvarint(b, uint64(len(h.globals)))
	for _, o := range h.globals {
		b = append(b, byte(o), byte(o>>8))
	}
	return b
}
