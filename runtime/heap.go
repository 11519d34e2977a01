package runtime

// object is a refcounted Python object. A local lives on its thread's stack
// and is freed with it; other objects are freed when their count reaches 0.
type object struct {
	name      string
	refs      int
	freed     bool
	freedBy   string
	stack     *thread // non-nil for a local
	published bool
}

// heap binds object names to their current objects. A second "new X"
// rebinds X; the old object lives on with whatever references it has.
type heap struct {
	bound   map[string]*object
	globals []*object // published heap objects, DECREF'd once in step 6
}

func (h *heap) create(name string, stack *thread) *object {
	o := &object{name: name, refs: 1, stack: stack}
	h.bound[name] = o
	return o
}

// object returns the live object bound to name for an operation by t, or
// nil if no thread has created it yet. A freed object is a use after free.
func (in *Interp) object(t *thread, name, op string) *object {
	o := in.heap.bound[name]
	if o == nil {
		in.event(t, EvNote, notCreatedWords(op, name))
		return nil
	}
	if o.freed {
		in.uaf(t, o, op)
	}
	return o
}

func (in *Interp) uaf(t *thread, o *object, op string) {
	if o.stack != nil && o.stack.ended {
		in.halt(t, Corruption, KindUAFStack, uafStackWords(t.name, op, o.name, o.stack.name, o.freedBy))
	}
	in.halt(t, Corruption, KindUAFObject, uafWords(t.name, op, o.name, o.freedBy))
}

// decrefObject drops one reference. Dropping one from a freed object is a
// refcount underflow (or, for a local on a freed stack, a stack use after
// free).
func (in *Interp) decrefObject(t *thread, o *object, why string) {
	if o.freed {
		if o.stack != nil && o.stack.ended {
			in.uaf(t, o, why)
		}
		in.halt(t, Corruption, KindUnderflow, underflowWords(t.name, why, o.name, o.freedBy))
	}
	o.refs--
	if o.refs == 0 {
		o.freed, o.freedBy = true, freedByWords(t.name, why)
		in.event(t, EvFree, o.name)
	}
}
