package scenario

// The statement parser: blocks and the statements in them.

// topBlock reads "{ body }" and the end of the line.
func (p *parser) topBlock(what string) ([]*Stmt, *Error) {
	body, err := p.block(what, 1)
	if err != nil {
		return nil, err
	}
	return body, p.endLine("}")
}

// block reads "{ statements }"; the statements sit at depth.
func (p *parser) block(what string, depth int) ([]*Stmt, *Error) {
	open := p.next()
	if open.kind != tokLBrace {
		return nil, errorAt(open.pos, "expected { after %s, found %s", what, open.describe())
	}
	var body []*Stmt
	for {
		p.skipNewlines()
		t := p.peek()
		switch t.kind {
		case tokRBrace:
			p.next()
			return body, nil
		case tokEOF:
			return nil, errorAt(open.pos, "unclosed {: missing }")
		}
		if depth > MaxDepth {
			return nil, errorAt(t.pos, "blocks nested deeper than %d", MaxDepth)
		}
		st, err := p.stmt(depth)
		if err != nil {
			return nil, err
		}
		body = append(body, st)
		switch t := p.peek(); t.kind {
		case tokNewline, tokRBrace, tokEOF:
		default:
			return nil, errorAt(t.pos, "unexpected %s after %s statement", t.describe(), st.Op)
		}
	}
}

func (p *parser) stmt(depth int) (*Stmt, *Error) {
	t := p.next()
	if t.kind != tokWord {
		return nil, errorAt(t.pos, "expected a statement, found %s", t.describe())
	}
	op := LookupOp(t.text)
	if op == OpInvalid {
		if t.text == "else" {
			return nil, errorAt(t.pos, "else without if (else follows the } of an if block, on the same line)")
		}
		return nil, errorAt(t.pos, "unknown statement %q", t.text)
	}
	st := &Stmt{Op: op, Pos: t.pos}
	var err *Error
	switch op {
	case OpSpawn:
		if st.Name, err = p.name(t.text); err == nil {
			st.Nowait, err = p.modifier("spawn", "nowait")
		}
	case OpJoin, OpNew, OpLocal, OpPublish, OpIncref, OpDecref, OpUse, OpGuard,
		OpHold, OpLock, OpUnlock, OpSet, OpWait:
		st.Name, err = p.name(t.text)
	case OpUntil:
		if st.Name, err = p.name(t.text); err == nil {
			st.Body, err = p.block("until "+st.Name, depth+1)
		}
	case OpIf:
		err = p.ifStmt(st, depth)
	case OpAtThreadExit:
		st.Body, err = p.block(t.text, depth+1)
	case OpWork:
		st.N, err = p.number(t.text)
	case OpExit:
		if p.peek().kind == tokWord {
			st.N, err = p.number(t.text)
		}
	case OpPrint:
		err = p.printStmt(st)
	case OpNative:
		err = p.nativeModifiers(st)
		if err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpLoop:
		st.N, err = p.number(t.text)
		if err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpCleanup:
		if st.OnUnwind, err = p.modifier("cleanup", "unwind"); err == nil {
			st.Body, err = p.block(t.text, depth+1)
		}
	case OpForever:
		st.Body, err = p.block(t.text, depth+1)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// modifier reads an optional modifier word after a statement of kind kw:
// want, or nothing.
func (p *parser) modifier(kw, want string) (bool, *Error) {
	m := p.peek()
	if m.kind != tokWord {
		return false, nil
	}
	p.next()
	if m.text != want {
		return false, errorAt(m.pos, "unknown %s modifier %q (want %s)", kw, m.text, want)
	}
	return true, nil
}

// printStmt reads print's operands: an optional flush, then the string.
func (p *parser) printStmt(st *Stmt) *Error {
	s := p.next()
	if s.kind == tokWord && s.text == "flush" {
		st.Flush = true
		s = p.next()
	}
	if s.kind != tokString {
		return errorAt(s.pos, "expected a quoted string after print, found %s", s.describe())
	}
	st.Text = s.text
	return nil
}

// nativeModifiers reads native's modifiers: noexcept, catchall and
// nounwind, in any order, each at most once.
func (p *parser) nativeModifiers(st *Stmt) *Error {
	for p.peek().kind == tokWord {
		m := p.next()
		var flag *bool
		switch m.text {
		case "noexcept":
			flag = &st.Noexcept
		case "catchall":
			flag = &st.Catchall
		case "nounwind":
			flag = &st.Nounwind
		default:
			return errorAt(m.pos, "unknown native modifier %q (want noexcept, catchall or nounwind)", m.text)
		}
		if *flag {
			return errorAt(m.pos, "duplicate %s", m.text)
		}
		*flag = true
	}
	return nil
}

// ifStmt reads "finalizing { ... }" and an optional "else { ... }" after
// if. The else stands on the line of the } that closes the then block.
func (p *parser) ifStmt(st *Stmt, depth int) *Error {
	c := p.next()
	if c.kind != tokWord || c.text != "finalizing" {
		return errorAt(c.pos, "expected finalizing after if (the only condition), found %s", c.describe())
	}
	var err *Error
	if st.Body, err = p.block("if finalizing", depth+1); err != nil {
		return err
	}
	if e := p.peek(); e.kind == tokWord && e.text == "else" {
		p.next()
		st.Else, err = p.block("else", depth+1)
		if err == nil && st.Else == nil {
			st.Else = []*Stmt{}
		}
	}
	return err
}
