package scenario

import (
	"fmt"
	"testing"
)

// Syntaxes has one row per statement, in Op order, and each row's
// modifiers and blocks are the ones the parser accepts on it: every
// statement, with each modifier, goes through parse, print, parse, the
// fuzz codec's encode and decode, and Walk. (The runtime's structural
// property test runs each in every block; the minimizer's test enters
// each block statement.)
func TestSyntaxesListEveryStatement(t *testing.T) {
	if len(Syntaxes) != int(numOps)-1 {
		t.Fatalf("%d rows for %d statements", len(Syntaxes), numOps-1)
	}
	for op := OpInvalid + 1; op < numOps; op++ {
		syn, ok := SyntaxOf(op)
		if !ok || syn.Op != op {
			t.Errorf("row of %s: %+v", op, syn)
			continue
		}
		for _, m := range append([]Modifier{{}}, syn.Modifiers...) {
			st := &Stmt{Op: op, Name: "x", N: 1, Text: "t"}
			if m.Flag != nil {
				*m.Flag(st) = true
			}
			if syn.Body {
				st.Body = []*Stmt{{Op: OpYield}}
			}
			body := []*Stmt{st}
			if syn.Inside != OpInvalid {
				body = []*Stmt{{Op: syn.Inside, Body: body}}
			}
			// Each statement stands in the daemon x (exit in main),
			// where the thread x and the object x exist.
			preset := ""
			if syn.MinMinor > DefaultRelease {
				preset = fmt.Sprintf("preset cpython-3.%d\n", syn.MinMinor)
			}
			in, src := 1, "scenario \"s\"\n"+preset+"main {\n  new x\n}\ndaemon x {\n"+string(PrintStmts(body))+"}\n"
			if op == OpExit {
				in, src = 0, "scenario \"s\"\nmain {\n"+string(PrintStmts(body))+"}\n"
			}
			got, err := Parse("s.scn", []byte(src))
			if err != nil {
				t.Errorf("%s %s: %v\n%s", op, m.Word, err, src)
				continue
			}
			if !EqualStmts(got.Threads[in].Body, body) {
				t.Errorf("%s %s: parsed back as\n%s", op, m.Word, PrintStmts(got.Threads[in].Body))
			}
			// The fuzz codec carries it, and Walk reaches it.
			if data, err := Encode(got); err != nil || !Equal(Decode(data), got) {
				t.Errorf("%s %s: no round trip through the fuzz codec (%v):\n%s", op, m.Word, err, Print(Decode(data)))
			}
			reached := false
			Walk(got.Threads[in].Body, func(x *Stmt) { reached = reached || x.Op == op })
			if !reached {
				t.Errorf("%s %s: Walk does not reach it", op, m.Word)
			}
		}
	}
	if _, ok := SyntaxOf(numOps); ok {
		t.Error("a row for an op past the last")
	}
}
