package scenario

import "slices"

// Equal reports whether a and b are the same scenario as far as the printed
// form can tell: it ignores every Pos, treats nil and empty slices alike,
// and compares only the fields a statement or schedule uses (the Seed of a
// replay or stream schedule is not compared, as it is not printed).
func Equal(a, b *Scenario) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !slices.EqualFunc(a.AfterFinalize, b.AfterFinalize, equalBlock) {
		return false
	}
	if a.Name != b.Name || a.Policy != b.Policy || a.Callback != b.Callback ||
		!slices.Equal(a.Presets, b.Presets) {
		return false
	}
	if !slices.EqualFunc(a.Threads, b.Threads, equalThread) ||
		!slices.EqualFunc(a.Atexit, b.Atexit, equalBlock) ||
		!slices.EqualFunc(a.Teardown, b.Teardown, equalBlock) ||
		!slices.EqualFunc(a.Expect, b.Expect, equalExpect) {
		return false
	}
	return equalSchedule(a.Schedule, b.Schedule)
}

func equalThread(a, b *ThreadDecl) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Kind == b.Kind && a.Name == b.Name && a.Group == b.Group && a.Copies == b.Copies &&
		EqualStmts(a.Body, b.Body)
}

func equalBlock(a, b *Block) bool {
	if a == nil || b == nil {
		return a == b
	}
	return EqualStmts(a.Body, b.Body)
}

func equalExpect(a, b Expect) bool {
	return a.Policy == b.Policy && slices.Equal(a.Outcomes, b.Outcomes)
}

func equalSchedule(a, b *Schedule) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case ScheduleRandom:
		return a.Seed == b.Seed
	case SchedulePCT:
		return a.Seed == b.Seed && a.Depth == b.Depth
	default:
		return slices.Equal(a.Choices, b.Choices)
	}
}

// EqualStmts reports whether two bodies are equal in the sense of Equal.
func EqualStmts(a, b []*Stmt) bool {
	return slices.EqualFunc(a, b, equalStmt)
}

// equalStmt compares what a statement's row of Syntaxes says it has: its
// operand, modifiers and blocks (fields a statement does not use are not
// compared).
func equalStmt(a, b *Stmt) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Op != b.Op || !EqualStmts(a.Body, b.Body) {
		return false
	}
	syn := syntaxOf(a.Op)
	switch arg := syn.Arg; {
	case arg.Named() && a.Name != b.Name, arg.Number() && a.N != b.N, arg == ArgText && a.Text != b.Text:
		return false
	}
	for _, m := range syn.Modifiers {
		if *m.Flag(a) != *m.Flag(b) {
			return false
		}
	}
	return !syn.Else || EqualStmts(a.Else, b.Else)
}

// Clone returns a deep copy of s, positions included.
func Clone(s *Scenario) *Scenario {
	if s == nil {
		return nil
	}
	c := *s
	c.Presets = slices.Clone(s.Presets)
	if s.Threads != nil {
		c.Threads = make([]*ThreadDecl, len(s.Threads))
		for i, t := range s.Threads {
			if t != nil {
				tc := *t
				tc.Body = CloneStmts(t.Body)
				c.Threads[i] = &tc
			}
		}
	}
	c.Atexit = cloneBlocks(s.Atexit)
	c.Teardown = cloneBlocks(s.Teardown)
	c.AfterFinalize = cloneBlocks(s.AfterFinalize)
	if s.Expect != nil {
		c.Expect = make([]Expect, len(s.Expect))
		for i, e := range s.Expect {
			e.Outcomes = slices.Clone(e.Outcomes)
			c.Expect[i] = e
		}
	}
	if s.Schedule != nil {
		sch := *s.Schedule
		sch.Choices = slices.Clone(s.Schedule.Choices)
		c.Schedule = &sch
	}
	return &c
}

func cloneBlocks(blocks []*Block) []*Block {
	if blocks == nil {
		return nil
	}
	out := make([]*Block, len(blocks))
	for i, b := range blocks {
		if b != nil {
			out[i] = &Block{Body: CloneStmts(b.Body), Pos: b.Pos}
		}
	}
	return out
}

// CloneStmts returns a deep copy of body.
func CloneStmts(body []*Stmt) []*Stmt {
	if body == nil {
		return nil
	}
	out := make([]*Stmt, len(body))
	for i, st := range body {
		if st != nil {
			c := *st
			c.Body = CloneStmts(st.Body)
			c.Else = CloneStmts(st.Else)
			out[i] = &c
		}
	}
	return out
}

// StripPos returns a deep copy of s with every Pos set to zero.
func StripPos(s *Scenario) *Scenario {
	c := Clone(s)
	if c == nil {
		return nil
	}
	c.PresetPos, c.PolicyPos, c.CallbackPos = Pos{}, Pos{}, Pos{}
	for _, t := range c.Threads {
		if t != nil {
			t.Pos = Pos{}
			stripStmts(t.Body)
		}
	}
	for _, b := range slices.Concat(c.Atexit, c.Teardown, c.AfterFinalize) {
		if b != nil {
			b.Pos = Pos{}
			stripStmts(b.Body)
		}
	}
	for i := range c.Expect {
		c.Expect[i].Pos = Pos{}
	}
	if c.Schedule != nil {
		c.Schedule.Pos = Pos{}
	}
	return c
}

func stripStmts(body []*Stmt) {
	for _, st := range body {
		if st != nil {
			st.Pos = Pos{}
			stripStmts(st.Body)
			stripStmts(st.Else)
		}
	}
}
