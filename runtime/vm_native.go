package runtime

import (
	"encoding/binary"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The step function's native frames (native.go: native, hold, cleanup,
// runFrameItems), the raises that leave them (threads.go: raise,
// catchRaise), and the forced unwind and terminate of the policies
// (exit.go: unwind, terminate). Each rule restates the goroutine model's
// function it names, which cites CPython's source.
//
// A thread's native frames (thread.frames) are data apart from its
// position: vmStack.natives, with their pending items on one stack
// (vmStack.items, the innermost frame's last). The position holds an
// fNative frame for each native statement running, which knows the index
// of its entry (native's Go local f). The two part where the goroutine
// model's do: a raise out of a cleanup body takes the entry off when it
// leaves the fNative frame (leaveFrame's deferred cut), and the forced
// unwind walks the entries, not the position. A raise on its way is the aux of a frame of the
// position (thread.raising only keys the Go local it is there).

func init() {
	for _, op := range []scenario.Op{scenario.OpNative, scenario.OpHold, scenario.OpCleanup} {
		supportedOps[op] = true
	}
}

// vmStack is a thread's C stack: its native frames with their pending
// items, its locals, the depth of cleanup bodies it runs, and whether the
// forced unwind runs on it (thread.frames, locals, inCleanup, unwinding).
type vmStack struct {
	natives   []vmNative
	items     []vmItem
	locals    []int16 // objects
	inCleanup uint8
	unwinding bool
	tls       []int16 // atthreadexit blocks registered and not run yet, in order (vm_tls.go)
	tlsSeen   []int16 // atthreadexit statements it ran, sorted
}

// vmNative is frame: the native statement and how many of the items on
// top of vmStack.items below the next frame's are its own.
type vmNative struct {
	stmt int16
	n    int16
}

// vmItem is frameItem: a hold (obj, the held object) or a cleanup block
// (obj -1), with its statement.
type vmItem struct {
	stmt int16
	obj  int16
}

// usesStack reports whether a statement with op, a native frame, a local
// or an atthreadexit, gives the scenario per-thread stacks: a state has
// them (VMState.stacks) only then (objectIDs looks).
func usesStack(op scenario.Op) bool {
	return op == scenario.OpNative || op == scenario.OpLocal || op == scenario.OpAtThreadExit
}

func (r *run) stack() *vmStack { return &r.s.stacks[r.id] }

// cloneStacksInto copies stacks into buf, the stacks of a state nothing
// uses any more (or nil), reusing their arrays as cloneThreads does.
func cloneStacksInto(buf, stacks []vmStack) []vmStack {
	if stacks == nil {
		return nil
	}
	if cap(buf) < len(stacks) {
		buf = make([]vmStack, len(stacks))
	}
	buf = buf[:len(stacks)]
	for i := range stacks {
		buf[i] = stacks[i].cloneInto(buf[i])
	}
	return buf
}

// cloneInto copies st into the arrays of old.
func (st vmStack) cloneInto(old vmStack) vmStack {
	st.natives = copyInto(old.natives, st.natives)
	st.items = copyInto(old.items, st.items)
	st.locals = copyInto(old.locals, st.locals)
	st.tls = copyInto(old.tls, st.tls)
	st.tlsSeen = copyInto(old.tlsSeen, st.tlsSeen)
	return st
}

func (st *vmStack) appendKey(b []byte) []byte {
	if len(st.tlsSeen) > 0 {
		b = append(b, 2, byte(len(st.tls)), byte(len(st.tlsSeen)))
		for _, id := range slices.Concat(st.tls, st.tlsSeen) {
			b = binary.LittleEndian.AppendUint16(b, uint16(id))
		}
	}
	if len(st.natives) == 0 && len(st.items) == 0 && len(st.locals) == 0 && st.inCleanup == 0 && !st.unwinding {
		return append(b, 0)
	}
	b = append(b, 1, st.inCleanup, boolByte(st.unwinding))
	b = binary.AppendUvarint(b, uint64(len(st.natives)))
	b = binary.AppendUvarint(b, uint64(len(st.items)))
	b = binary.AppendUvarint(b, uint64(len(st.locals)))
	for _, n := range st.natives {
		b = binary.LittleEndian.AppendUint16(b, uint16(n.stmt))
		b = binary.LittleEndian.AppendUint16(b, uint16(n.n))
	}
	for _, it := range st.items {
		b = binary.LittleEndian.AppendUint16(b, uint16(it.stmt))
		b = binary.LittleEndian.AppendUint16(b, uint16(it.obj))
	}
	for _, o := range st.locals {
		b = binary.LittleEndian.AppendUint16(b, uint16(o))
	}
	return b
}

// nativeStmt runs native, hold and cleanup (st, whose id is id).
func (r *run) nativeStmt(st *scenario.Stmt, id int16) stepEnd {
	stk := r.stack()
	switch st.Op {
	case scenario.OpNative:
		return r.push(vmFrame{kind: fNative, a: id})
	case scenario.OpHold:
		// hold: a smart pointer to the bound object, if any, in the
		// innermost native frame (no INCREF).
		if o := r.s.heap.bound[r.m.objs[st.Name]]; o >= 0 {
			stk.addItem(vmItem{stmt: id, obj: o})
		}
	case scenario.OpCleanup:
		stk.addItem(vmItem{stmt: id, obj: -1}) // cleanup
	}
	return stepOn
}

func (st *vmStack) addItem(it vmItem) {
	st.items = append(st.items, it)
	st.natives[len(st.natives)-1].n++
}

// native is native: the frame's entry is pushed, its body runs (a raise
// stops here: catchRaise), its items run, its entry is popped, and a
// raise goes on to the enclosing block. Phases: 1 body ran, 2 items ran;
// aux 1: the body raised; i: the entry's index.
func (r *run) native(f *vmFrame) stepEnd {
	stk := r.stack()
	switch f.phase {
	case 0:
		f.i = int32(len(stk.natives))
		stk.natives = append(stk.natives, vmNative{stmt: f.a})
		f.phase = 1
		return r.push(vmFrame{kind: fBody, a: r.m.sub[f.a].body})
	case 1:
		f.phase = 2
		return r.push(vmFrame{kind: fItems, i: f.i})
	}
	stk.natives = stk.natives[:f.i]
	raised, depth := f.aux == 1, len(r.t.frames)-1
	r.pop()
	if raised {
		return r.reraise(depth)
	}
	if len(stk.natives) == 0 && !r.foreign() && !r.t.is(tHasGIL) {
		return r.fail(Corruption, KindNoGIL, func() string { return outermostNoGILWords(r.name()) })
	}
	return stepOn
}

// runFrameItems is runFrameItems: the items of entry i, last first, with
// whatever GIL the thread has. A hold's release is a DECREF; a cleanup
// body runs in an fCleanup frame ("cleanup unwind" only on the forced
// unwind). aux 1: a cleanup body raised, and the raise goes on once every
// item ran.
func (r *run) runFrameItems(f *vmFrame) stepEnd {
	stk := r.stack()
	nat := &stk.natives[f.i]
	for _, above := range stk.natives[f.i+1:] {
		if above.n != 0 {
			panic("runtime: the step function runs a frame's items below a frame that has some")
		}
	}
	if nat.n == 0 {
		raised, depth := f.aux == 1, len(r.t.frames)-1
		r.pop()
		if raised {
			return r.reraise(depth)
		}
		return stepOn
	}
	it := stk.items[len(stk.items)-1]
	stk.items = stk.items[:len(stk.items)-1]
	nat.n--
	st := r.m.stmts[it.stmt]
	if it.obj >= 0 {
		if !r.t.is(tHasGIL) {
			return r.noGILAt(st, it.obj, func() string { return smartNoGILWords(r.name(), r.n.objName[it.obj], stk.unwinding) })
		}
		return r.decref(it.obj, "smart pointer release")
	}
	if st.OnUnwind && !stk.unwinding {
		return stepOn
	}
	return r.push(vmFrame{kind: fCleanup, a: it.stmt})
}

// cleanupBody is runFrameItems' catchRaise of a cleanup body, counted in
// inCleanup; a raise that ends it is kept by the fItems frame below,
// which carries on the first of its items' exceptions.
func (r *run) cleanupBody(f *vmFrame) stepEnd {
	if r.counted(f) {
		return stepOn
	}
	raised, depth := f.aux == 1, len(r.t.frames)-1
	r.pop()
	if raised && r.top().aux == 0 {
		r.top().aux = 1
		r.keepExc(depth-1, r.keptExc(depth))
	}
	return stepOn
}

// unwind is unwind, pthread_exit's forced unwind, pushed on top of the
// thread's position by strike: the GIL dropped, each native frame's items
// run, innermost frame first, and the thread ends. A noexcept or nounwind
// frame aborts before its items (haltNoUnwind); a catchall frame swallows
// the unwind after them; an unwind that starts in a cleanup body aborts.
// Phases: 1 next frame, 2 the items of entry i ran.
func (r *run) unwind(f *vmFrame) stepEnd {
	if r.s.stacks == nil {
		r.dropGIL() // no native frames: the thread ends at once
		if r.tracing() {
			r.event(EvUnwind, unwindEventWords(0))
		}
		return r.endThread(endUnwound)
	}
	stk := r.stack()
	switch f.phase {
	case 0:
		if stk.inCleanup > 0 {
			return r.fail(Abort, KindUnwindInDestructor, func() string { return unwindInCleanupWords(r.name()) })
		}
		r.dropGIL()
		stk.unwinding = true
		if r.tracing() {
			r.event(EvUnwind, unwindEventWords(len(stk.natives)))
		}
		f.phase = 1
		return stepOn
	case 1:
		if len(stk.natives) == 0 {
			return r.endThread(endUnwound)
		}
		f.i = int32(len(stk.natives) - 1)
		switch st := r.m.stmts[stk.natives[f.i].stmt]; {
		case st.Noexcept:
			return r.failAt(st, Abort, KindNoexcept, func() string { return noexceptWords(r.name()) })
		case st.Nounwind:
			return r.failAt(st, Abort, KindNounwind, func() string { return nounwindWords(r.name()) })
		}
		f.phase = 2
		return r.push(vmFrame{kind: fItems, i: f.i})
	}
	st := r.m.stmts[stk.natives[f.i].stmt]
	stk.natives = stk.natives[:len(stk.natives)-1]
	if st.Catchall {
		if r.m.preset.CatchallAborts {
			return r.failAt(st, Abort, KindNotRethrown, func() string { return notRethrownWords(r.name()) })
		}
		return r.failAt(st, Corruption, KindSwallowedUnwind, func() string { return swallowedWords(r.name()) })
	}
	f.phase = 1
	return stepOn
}

// terminate is terminate, _endthreadex: the thread ends at once, its
// native frames dropped with their items.
func (r *run) terminate() stepEnd {
	r.dropGIL()
	if r.s.stacks != nil {
		r.stack().natives, r.stack().items = nil, nil
	}
	return r.endThread(endTerminated)
}

// counted is catchRaise's count of the blocks a thread runs in (inCleanup)
// around the body of f's statement: on the frame's first turn it counts
// the block in and enters the body (true); on its second, when the body
// has ended, it counts it out (false).
func (r *run) counted(f *vmFrame) bool {
	stk := r.stack()
	if f.phase == 0 {
		f.phase = 1
		stk.inCleanup++
		r.push(vmFrame{kind: fBody, a: r.m.sub[f.a].body})
		return true
	}
	stk.inCleanup--
	return false
}
