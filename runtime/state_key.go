package runtime

import (
	"encoding/binary"
	"slices"
)

// AppendKey appends the key of the state at this point to b: the
// interpreter (phase, exit code, finalization flags, the GIL with its drop
// request and hand-off, the stdout lock, C-level locks, events, the heap
// with refcounts, owners and the published globals) and every thread
// (status, GIL, thread state, ensure stack, native frames with their
// pending items, locals, position). Objects are numbered in the order the
// key meets them, so keys do not depend on addresses. What the key leaves
// out changes no outcome: the stdout text (nothing reads it), strike
// counts, report wording, and how many steps a thread has run past the
// first since it took the GIL (only "at least one" matters: evalBreaker).
func (p *Point) AppendKey(b []byte) []byte {
	p.Capture()
	in := p.in
	e := keyEnc{in: in, b: b, tab: p.tab}
	e.str(in.phase)
	e.int(in.exitCode)
	e.bool(in.finalizeStarted)
	e.bool(in.finalizing)
	e.bool(in.tstatesFreed)
	e.bool(in.buffered > 0) // only whether step 5 has data to write matters
	e.bool(in.v2.afterFinalize)
	g := in.gil
	e.int(g.holder)
	e.int(g.lastHolder)
	e.bool(g.dropReq)
	e.int(g.requester)
	e.int(in.stdout.holder)
	for _, name := range p.tab.locks {
		h := -1
		if l := in.locks[name]; l != nil {
			h = l.holder
		}
		e.int(h)
	}
	for _, name := range p.tab.events {
		e.bool(in.events[name])
	}
	e.bool(in.guards.waiting)
	e.bool(in.guards.refusing)
	e.int(len(in.guards.held))
	for _, h := range in.guards.held { // ids only tell guards apart: not in the key
		e.str(h.name)
		e.int(h.holder)
		e.bool(h.scoped)
		e.bool(h.leaked)
	}
	for _, name := range p.tab.objects {
		e.obj(in.heap.bound[name])
	}
	e.int(len(in.heap.globals))
	for _, o := range in.heap.globals {
		e.obj(o)
	}
	for i, t := range in.threads {
		e.thread(t, p.stack[i])
	}
	return e.b
}

type keyEnc struct {
	in   *Interp
	b    []byte
	tab  *StateTable
	objs []*object
	ids  map[*object]int // past 16 objects, a map replaces the linear search
}

func (e *keyEnc) int(v int) { e.b = binary.AppendVarint(e.b, int64(v)) }
func (e *keyEnc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *keyEnc) str(s string) {
	e.int(len(s))
	e.b = append(e.b, s...)
}

// obj writes an object: 0 for none, a back reference for one already
// written, else its data.
func (e *keyEnc) obj(o *object) {
	if o == nil {
		e.int(0)
		return
	}
	if e.ids != nil {
		if i, ok := e.ids[o]; ok {
			e.int(i + 1)
			return
		}
		e.ids[o] = len(e.objs)
	} else {
		for i, x := range e.objs {
			if x == o {
				e.int(i + 1)
				return
			}
		}
		if len(e.objs) == 16 {
			e.ids = make(map[*object]int, 32)
			for i, x := range e.objs {
				e.ids[x] = i
			}
			e.ids[o] = len(e.objs)
		}
	}
	e.objs = append(e.objs, o)
	e.int(-len(e.objs))
	e.int(o.refs)
	e.bool(o.freed)
	e.bool(o.published)
	owner := -1
	if o.stack != nil {
		owner = o.stack.id
	}
	e.int(owner)
}

func (e *keyEnc) thread(t *thread, stack uint32) {
	e.bool(t.spawned)
	e.bool(t.began)
	e.bool(t.ended)
	if t.ended {
		e.str(t.endHow)
		e.bool(t.exiting)
	}
	e.bool(t.hung)
	e.bool(t.marked)
	e.int(int(t.kind)) // main runs as a plain OS thread after Py_FinalizeEx
	e.bool(t.inCall)
	e.bool(t.stdoutFatal)
	e.int(t.raising)
	if l := e.in.v2.tls[t.id]; l != nil {
		e.int(len(l.blocks))
		for _, st := range l.blocks {
			e.int(int(e.tab.stmts[st]))
		}
		seen := make([]int, 0, len(l.seen))
		for st := range l.seen {
			seen = append(seen, int(e.tab.stmts[st]))
		}
		slices.Sort(seen)
		e.int(len(seen))
		for _, id := range seen {
			e.int(id)
		}
	}
	e.bool(t.hasGIL)
	e.bool(t.waitingGIL)
	e.bool(t.sinceTake > 0)
	e.bool(t.tstate)
	e.bool(t.tstateFreed)
	e.int(len(t.ensures))
	for _, took := range t.ensures {
		e.bool(took)
	}
	e.int(len(t.frames))
	for _, f := range t.frames {
		e.int(int(e.tab.stmts[f.stmt]))
		e.int(len(f.items))
		for _, it := range f.items {
			e.int(int(e.tab.stmts[it.stmt]))
			e.obj(it.hold)
		}
	}
	e.int(len(t.locals))
	for _, o := range t.locals {
		e.obj(o)
	}
	e.int(t.inCleanup)
	e.bool(t.unwinding)
	if t.ended || t.hung || !t.spawned {
		return
	}
	e.int(int(stack))
	e.int(int(e.tab.stmts[t.cur]))
	e.bool(t.posHad)
	e.int(len(t.pos))
	for _, pe := range t.pos {
		e.int(int(e.tab.stmts[pe.st]))
		e.int(int(pe.iter))
		e.bool(pe.had)
	}
}
