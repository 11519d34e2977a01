package runtime_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The Outcome constants of outcome.go are exactly the classes of
// scenario.OutcomeClasses, and Outcomes lists them in the table's order: a
// class added to the table without a constant, or a constant without a
// class, fails here.
func TestOutcomesAreTheClasses(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "outcome.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{} // value -> constant
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Outcome" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Fatalf("%s: not a string literal", name.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				consts[v] = name.Name
			}
		}
	}
	var names []string
	for _, o := range runtime.Outcomes {
		names = append(names, string(o))
		if consts[string(o)] == "" {
			t.Errorf("outcome class %q has no Outcome constant in outcome.go", o)
		}
		if o.Class().Name != string(o) {
			t.Errorf("%s.Class() = %+v", o, o.Class())
		}
	}
	for v, name := range consts {
		if !scenario.IsOutcome(v) {
			t.Errorf("constant %s = %q is not a class of scenario.OutcomeClasses", name, v)
		}
	}
	if !reflect.DeepEqual(names, scenario.Outcomes) {
		t.Errorf("runtime.Outcomes %v, the table's %v", names, scenario.Outcomes)
	}
	if c := runtime.Outcome("crash").Class(); c != (scenario.OutcomeClass{}) {
		t.Errorf("an unknown outcome has class %+v", c)
	}
}
