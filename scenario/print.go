package scenario

import (
	"bytes"
	"strconv"
	"strings"
)

// Print writes s in canonical form: scenario, preset, policy and callback
// lines; main; thread, daemon and foreign blocks in Threads order; atexit
// and teardown blocks; expect lines; the schedule. Blocks are multi-line
// with two-space indentation and blank lines between top-level blocks.
// For every valid s, Parse(Print(s)) is Equal to s.
func Print(s *Scenario) []byte {
	var b bytes.Buffer
	b.WriteString("scenario " + strconv.Quote(s.Name) + "\n")
	if len(s.Presets) > 0 {
		b.WriteString("preset " + strings.Join(s.Presets, " ") + "\n")
	}
	if s.Policy != "" {
		b.WriteString("policy " + s.Policy + "\n")
	}
	if s.Callback != "" {
		b.WriteString("callback " + s.Callback + "\n")
	}
	for _, t := range s.Threads {
		if t == nil || t.Group != "" && t.Name != t.Group+"0" {
			continue // a copy of a replicated block, printed with its first
		}
		head := t.Kind.String()
		switch {
		case t.Group != "":
			head += " " + t.Group + "[" + strconv.Itoa(t.Copies) + "]"
		case t.Kind != Main:
			head += " " + t.Name
		}
		b.WriteString("\n")
		printBlock(&b, head, t.Body, 0)
	}
	for _, blk := range s.Atexit {
		if blk != nil {
			b.WriteString("\n")
			printBlock(&b, "atexit", blk.Body, 0)
		}
	}
	for _, blk := range s.Teardown {
		if blk != nil {
			b.WriteString("\n")
			printBlock(&b, "teardown", blk.Body, 0)
		}
	}
	for _, blk := range s.AfterFinalize {
		if blk != nil {
			b.WriteString("\n")
			printBlock(&b, "after_finalize", blk.Body, 0)
		}
	}
	if len(s.Expect) > 0 || s.Schedule != nil {
		b.WriteString("\n")
	}
	for _, e := range s.Expect {
		b.WriteString("expect " + e.Policy + ": " + strings.Join(e.Outcomes, ", ") + "\n")
	}
	if s.Schedule != nil {
		b.WriteString(s.Schedule.String() + "\n")
	}
	return b.Bytes()
}

// PrintStmts writes body in canonical form, one statement a line, with
// nested blocks indented by two spaces per level.
func PrintStmts(body []*Stmt) []byte {
	var b bytes.Buffer
	printStmts(&b, body, 0)
	return b.Bytes()
}

func printBlock(b *bytes.Buffer, head string, body []*Stmt, depth int) {
	indent(b, depth)
	b.WriteString(head + " {\n")
	printStmts(b, body, depth+1)
	indent(b, depth)
	b.WriteString("}\n")
}

func printStmts(b *bytes.Buffer, body []*Stmt, depth int) {
	for _, st := range body {
		if st == nil {
			continue
		}
		if syntaxOf(st.Op).Else && st.Else != nil { // if, and PEP 788's interp_guard G, ensure view, if guarded G
			indent(b, depth)
			b.WriteString(st.String() + " {\n")
			printStmts(b, st.Body, depth+1)
			indent(b, depth)
			b.WriteString("} else {\n")
			printStmts(b, st.Else, depth+1)
			indent(b, depth)
			b.WriteString("}\n")
			continue
		}
		if hasBody(st.Op) {
			printBlock(b, st.String(), st.Body, depth)
			continue
		}
		indent(b, depth)
		b.WriteString(st.String() + "\n")
	}
}

func indent(b *bytes.Buffer, depth int) {
	for range depth {
		b.WriteString("  ")
	}
}

// String returns the statement's line in canonical form, without its block
// (or, for an if, its else): "work 3", "print \"hi\"", "native noexcept",
// "loop 2", "if finalizing", "cleanup unwind", as its row of Syntaxes
// says.
func (st *Stmt) String() string {
	syn := syntaxOf(st.Op)
	words := []string{st.Op.String()}
	if syn.Word != "" {
		words = append(words, syn.Word)
	}
	mods := func() {
		for _, m := range syn.Modifiers {
			if *m.Flag(st) {
				words = append(words, m.Word)
			}
		}
	}
	if syn.ModsFirst {
		mods()
	}
	switch a := syn.Arg; {
	case a.Named():
		words = append(words, st.Name)
	case a.Number():
		words = append(words, strconv.Itoa(st.N))
	case a == ArgText:
		words = append(words, strconv.Quote(st.Text))
	}
	if !syn.ModsFirst {
		mods()
	}
	return strings.Join(words, " ")
}

// String returns the full schedule line: "schedule random 42",
// "schedule pct 3 42", "schedule replay 0 1 1 0", "schedule stream 7 200".
// The Seed of a replay or stream schedule is not part of the line.
func (sch *Schedule) String() string {
	var b strings.Builder
	b.WriteString("schedule " + sch.Kind.String())
	switch sch.Kind {
	case ScheduleRandom:
		b.WriteString(" " + strconv.FormatUint(sch.Seed, 10))
	case SchedulePCT:
		b.WriteString(" " + strconv.Itoa(sch.Depth) + " " + strconv.FormatUint(sch.Seed, 10))
	default:
		if len(sch.Choices) > 0 {
			b.WriteString(" " + FormatChoices(sch.Choices)) // schedule.go
		}
	}
	return b.String()
}
