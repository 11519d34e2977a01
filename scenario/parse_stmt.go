package scenario

import "slices"

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

// stmt reads one statement, as its row of Syntaxes says: the keyword,
// the modifiers and the operand (in the row's order), then its block and,
// for if, an optional else.
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
	syn, err := p.form(t.text)
	if err != nil {
		return nil, err
	}
	st := &Stmt{Op: syn.Op, Pos: t.pos}
	err = p.operands(st, syn, t.text)
	if err == nil && syn.Body {
		st.Body, err = p.block(st.String(), depth+1)
	}
	if err == nil && syn.Else {
		err = p.elseBlock(st, depth)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// form picks the row of keyword kw that the tokens after it make: the row
// whose Word comes next; else, among the rows without one, the row with an
// operand when a name comes next, and of those the block form when a {
// follows the name. A keyword with rows that all have a Word needs one.
func (p *parser) form(kw string) (*Syntax, *Error) {
	rows := forms(kw)
	next := p.peek()
	var words []string
	var bare []*Syntax
	for _, r := range rows {
		switch {
		case r.Word != "" && next.kind == tokWord && next.text == r.Word:
			p.next()
			return r, nil
		case r.Word != "":
			words = append(words, r.Word)
		default:
			bare = append(bare, r)
		}
	}
	if len(bare) == 0 {
		return nil, errorAt(next.pos, "expected %s after %s, found %s", wantList(words), kw, next.describe())
	}
	pick := bare[0]
	for _, r := range bare[1:] {
		named := next.kind == tokWord && r.Arg != ArgNone && pick.Arg == ArgNone
		block := r.Body && !pick.Body && p.peekAt(1).kind == tokLBrace
		if named || block {
			pick = r
		}
	}
	return pick, nil
}

// operands reads a statement's operand and modifiers, in its row's order.
func (p *parser) operands(st *Stmt, syn *Syntax, kw string) *Error {
	if syn.ModsFirst {
		if err := p.modifiers(st, syn.Modifiers, kw, true); err != nil {
			return err
		}
	}
	if err := p.operand(st, syn.Arg, kw); err != nil {
		return err
	}
	if !syn.ModsFirst {
		return p.modifiers(st, syn.Modifiers, kw, false)
	}
	return nil
}

// operand reads the operand of kind a after keyword kw.
func (p *parser) operand(st *Stmt, a Arg, kw string) *Error {
	var err *Error
	switch {
	case a.Named():
		st.Name, err = p.name(kw)
	case a == ArgCount:
		st.N, err = p.number(kw)
	case a == ArgCode:
		if p.peek().kind == tokWord {
			st.N, err = p.number(kw)
		}
	case a == ArgText:
		s := p.next()
		if s.kind != tokString {
			return errorAt(s.pos, "expected a quoted string after %s, found %s", kw, s.describe())
		}
		st.Text = s.text
	}
	return err
}

// modifiers reads the modifier words of a statement of keyword kw that
// stand next: any of mods, in any order, each at most once. Before the
// operand (first), a word that is not a modifier is the operand.
func (p *parser) modifiers(st *Stmt, mods []Modifier, kw string, first bool) *Error {
	for p.peek().kind == tokWord && len(mods) > 0 {
		m := p.peek()
		i := slices.IndexFunc(mods, func(x Modifier) bool { return x.Word == m.text })
		if i < 0 && first {
			return nil
		}
		p.next()
		if i < 0 {
			return errorAt(m.pos, "unknown %s modifier %q (want %s)", kw, m.text, wantList(modifierWords(mods)))
		}
		if f := mods[i].Flag(st); *f {
			return errorAt(m.pos, "duplicate %s", m.text)
		} else {
			*f = true
		}
	}
	return nil
}

// elseBlock reads an optional "else { ... }" after the then block of an
// if. The else stands on the line of the } that closes the then block.
func (p *parser) elseBlock(st *Stmt, depth int) *Error {
	e := p.peek()
	if e.kind != tokWord || e.text != "else" {
		return nil
	}
	p.next()
	var err *Error
	st.Else, err = p.block("else", depth+1)
	if err == nil && st.Else == nil {
		st.Else = []*Stmt{}
	}
	return err
}
