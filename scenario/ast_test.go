package scenario

import (
	"reflect"
	"slices"
	"testing"
)

// Walk, Bodies, BodyRefs, Stmt.Blocks and BlockLists are one definition of
// the blocks of a scenario: Walk over Bodies visits exactly the statements
// that BodyRefs and Blocks reach, in the same order, and the accessors
// point into the scenario.
func TestWalkVisitsWhatBodyRefsAndBlocksReach(t *testing.T) {
	total := 0
	for name, src := range validScenarios {
		s, err := Parse(name+".scn", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var walked, reached []*Stmt
		for _, b := range s.Bodies() {
			Walk(b, func(st *Stmt) { walked = append(walked, st) })
		}
		var reach func(body []*Stmt)
		reach = func(body []*Stmt) {
			for _, st := range body {
				reached = append(reached, st)
				for _, b := range st.Blocks() {
					reach(*b)
				}
			}
		}
		refs := s.BodyRefs()
		for _, r := range refs {
			reach(*r)
		}
		total += len(walked)
		if !slices.Equal(walked, reached) {
			t.Errorf("%s: Walk visits %d statements, BodyRefs and Blocks reach %d, or in another order", name, len(walked), len(reached))
		}
		bodies := s.Bodies()
		if len(bodies) != len(refs) {
			t.Fatalf("%s: %d bodies, %d body refs", name, len(bodies), len(refs))
		}
		for i, r := range refs {
			if !slices.Equal(bodies[i], *r) {
				t.Errorf("%s: body %d differs from body ref %d", name, i, i)
			}
		}
		n := len(s.Threads)
		for _, list := range s.BlockLists() {
			for _, b := range *list {
				if refs[n] != &b.Body {
					t.Errorf("%s: body ref %d does not point at its block's body", name, n)
				}
				n++
			}
		}
		if n != len(refs) {
			t.Errorf("%s: %d body refs, threads and BlockLists have %d bodies", name, len(refs), n)
		}
	}
	if total == 0 {
		t.Error("no statement walked")
	}
}

// Blocks and BlockLists return every field that holds a block, so that a
// new kind of nested or top-level block cannot be added without them.
func TestBlockAccessorsCoverEveryField(t *testing.T) {
	var st Stmt
	got := st.Blocks()
	v := reflect.ValueOf(&st).Elem()
	var want []*[]*Stmt
	for i := range v.NumField() {
		if v.Field(i).Type() == reflect.TypeFor[[]*Stmt]() {
			want = append(want, v.Field(i).Addr().Interface().(*[]*Stmt))
		}
	}
	if len(want) != len(got) {
		t.Errorf("Stmt has %d block fields, Blocks returns %d", len(want), len(got))
	}
	for _, p := range want {
		if !slices.Contains(got, p) {
			t.Errorf("Blocks misses a block field of Stmt")
		}
	}
	if got[0] != &st.Body || got[1] != &st.Else {
		t.Errorf("Blocks is not Body then Else (Walk's order)")
	}

	var s Scenario
	lists := s.BlockLists()
	sv := reflect.ValueOf(&s).Elem()
	var wantLists []*[]*Block
	for i := range sv.NumField() {
		if sv.Field(i).Type() == reflect.TypeFor[[]*Block]() {
			wantLists = append(wantLists, sv.Field(i).Addr().Interface().(*[]*Block))
		}
	}
	if !slices.Equal(lists, wantLists) || !slices.Equal(lists, []*[]*Block{&s.Atexit, &s.Teardown, &s.AfterFinalize}) {
		t.Errorf("BlockLists is not every []*Block field of Scenario, atexit, teardown, after_finalize")
	}
}
