package runtime

// The stdout lock in the step function: print, takeStdout and writeOut
// (stmt.go, finalize.go), with bpo-23309's bounded wait after the flag.

// print is print: one bytecode step of Python code, then the append to
// the buffer under the stdout lock, and for `print flush` the write.
func (r *run) print(f *vmFrame) stepEnd {
	switch f.phase {
	case 0:
		if !r.needGIL() {
			return r.noGIL()
		}
		f.phase = 1
		return r.evalBreaker()
	case 1:
		r.t.flags |= tStepped
		f.phase = 2
		return r.push(vmFrame{kind: fStdout})
	case 2:
		r.s.flags |= vmBuffered
		if r.n != nil {
			r.n.out = append(append(r.n.out, r.m.stmts[f.a].Text...), '\n')
		}
		f.phase = 3
		if r.m.stmts[f.a].Flush {
			return r.push(vmFrame{kind: fWriteOut})
		}
		return stepOn
	}
	r.s.stdout = -1
	return r.pop()
}

// takeStdout is takeStdout: a wait for the lock drops the GIL; one that
// began after the flag is fatal when the holder is stuck.
func (r *run) takeStdout(f *vmFrame) stepEnd {
	s := r.s
	switch f.phase {
	case 0:
		if s.stdout < 0 {
			s.stdout = int8(r.id)
			return r.pop()
		}
		f.phase = 1
		r.t.set(tStdoutFatal, s.flags&vmFinalizing != 0 && r.m.preset.StdoutFatal)
		if r.t.is(tHasGIL) {
			f.aux = 1
			return r.releaseGIL()
		}
		return stepOn
	case 1:
		f.phase = 3
		if s.stdout >= 0 {
			f.phase = 2
			return r.block(wStdout, 0)
		}
		return stepOn
	case 2:
		if s.stdout >= 0 {
			h := int(s.stdout)
			return r.fail(Abort, KindFatalStdout, func() string { return fatalStdoutWords(r.m.sc.Threads[h].Name, stateOf(s, h)) })
		}
		f.phase = 3
		return stepOn
	case 3:
		r.t.set(tStdoutFatal, false)
		s.stdout = int8(r.id)
		if f.aux == 1 {
			f.phase = 4
			return r.push(vmFrame{kind: fTakeGIL})
		}
	}
	return r.pop()
}

// writeOut is writeOut: the write() drops the GIL around it.
func (r *run) writeOut(f *vmFrame) stepEnd {
	switch f.phase {
	case 0:
		f.phase = 1
		return r.releaseGIL()
	case 1:
		f.phase = 2
		return stepYield
	case 2:
		r.s.flags &^= vmBuffered
		f.phase = 3
		return r.push(vmFrame{kind: fTakeGIL})
	}
	return r.pop()
}

// stuck is thread.stuck: hung, ended, or in a blocking call.
func (t *vmThread) stuck() bool { return t.is(tHung) || t.is(tEnded) || t.is(tInCall) }
