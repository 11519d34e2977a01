package exhaustive

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// graph is the state graph in canonical form: the states numbered in
// breadth-first order from the initial state, each state's edges in
// increasing thread order, and the breadth-first tree. The order in which
// workers found the states is gone, so everything read from the graph
// (witnesses, liveness) depends on the graph alone.
type graph struct {
	off    []int32 // the edges of state s are e[off[s]:off[s+1]]
	e      []edge  // targets renumbered; terminal and unexplored kept
	parent []int32 // the breadth-first tree: -1 for the initial state
	via    []int32 // the thread chosen at parent
}

func (g *graph) states() int                    { return len(g.parent) }
func (g *graph) edgesOf(s int32) []edge         { return g.e[g.off[s]:g.off[s+1]] }
func (x *search) nodeEdge(n *node, i int) *edge { return x.edges.at(int64(n.first) + int64(i)) }

// canonical builds the graph from the search's n states. Every state is
// reachable from the initial one (0) over the recorded edges: the edge
// that found a state is recorded before the state is explored.
func (x *search) canonical(n int) *graph {
	g := &graph{off: make([]int32, n+1), parent: make([]int32, n), via: make([]int32, n)}
	if n == 0 {
		return g
	}
	order := make([]int32, 0, n) // canonical -> search id
	rank := make([]int32, n)     // search id -> canonical, -1 unseen
	for i := range rank {
		rank[i] = -1
	}
	order, rank[0] = append(order, 0), 0
	g.parent[0], g.via[0] = -1, -1
	for i := 0; i < len(order); i++ {
		nd := x.nodes.at(int64(order[i]))
		for j := range int(nd.n) {
			e := x.nodeEdge(nd, j)
			if e.to >= 0 && rank[e.to] < 0 {
				rank[e.to] = int32(len(order))
				g.parent[len(order)], g.via[len(order)] = int32(i), e.thread
				order = append(order, e.to)
			}
		}
	}
	if len(order) != n {
		panic(fmt.Sprintf("exhaustive: %d of %d states are not reachable over the recorded edges", n-len(order), n))
	}
	g.e = make([]edge, 0, x.nedges.Load())
	for i, id := range order {
		nd := x.nodes.at(int64(id))
		for j := range int(nd.n) {
			e := *x.nodeEdge(nd, j)
			if e.to >= 0 {
				e.to = rank[e.to]
			}
			g.e = append(g.e, e)
		}
		g.off[i+1] = int32(len(g.e))
	}
	return g
}

// pathTo is the schedule from the initial state to s in the breadth-first
// tree: the shortest, and the least in thread order among the shortest.
func (g *graph) pathTo(s int32) []int {
	var path []int
	for ; g.parent[s] >= 0; s = g.parent[s] {
		path = append(path, int(g.via[s]))
	}
	slices.Reverse(path)
	return path
}

// terminals counts the transitions into each outcome and the defects
// among them, and builds each outcome's witness: the first transition into
// it in canonical order (states in breadth-first order, then threads), so
// the shortest schedule to the outcome and the least among the shortest.
// Each witness schedule is run once more, to give its Result.
func (x *search) terminals(g *graph) error {
	type first struct {
		sched []int
		w     *Witness
	}
	found := map[runtime.Outcome]*first{}
	note := func(o runtime.Outcome, d string, sched func() []int) {
		f := found[o]
		if f == nil {
			f = &first{sched: sched(), w: &Witness{Outcome: o}}
			found[o] = f
		}
		f.w.Count++
		if d != "" {
			f.w.Defects++
			f.w.Defect = cmp.Or(f.w.Defect, d)
		}
	}
	if x.root != "" {
		note(x.root, x.rootDefect, func() []int { return []int{} })
	}
	for s := range int32(g.states()) {
		for _, e := range g.edgesOf(s) {
			if isTerminal(e.to) {
				o, d := outcomeOf(e.to)
				note(o, d, func() []int { return append(g.pathTo(s), int(e.thread)) })
			}
		}
	}
	for _, o := range runtime.Outcomes {
		f := found[o]
		if f == nil {
			continue
		}
		r, err := x.follow(f.sched)
		if err != nil {
			return err
		}
		if r.Outcome != o {
			why := "the state key misses something"
			if x.m != nil {
				why = "the step function and the goroutine model disagree"
			}
			return fmt.Errorf("exhaustive: the %s witness %v ran to %s in the controlled mode (%s): %w", o, f.sched, r.Outcome, why, runtime.ErrInternal)
		}
		f.w.Schedule, f.w.Result, f.w.Kinds = slices.Clone(r.Schedule), r, x.kinds[o]
		x.res.Outcomes[o] = f.w
		x.res.WitnessRuns++
	}
	return nil
}

// follow runs a schedule that the search found to end the run.
func (x *search) follow(sched []int) (*runtime.Result, error) {
	fl := &follower{path: sched}
	r, err := runtime.RunChooser(x.sc, x.config(), x.tab, fl)
	if err != nil {
		return nil, err
	}
	if fl.over {
		return nil, fmt.Errorf("exhaustive: the witness %v did not end the run", sched)
	}
	return r, nil
}

// follower takes the choices of a schedule, and stops a run that goes on
// past them.
type follower struct {
	path []int
	over bool
}

func (f *follower) Choose(p *runtime.Point) (int, bool) {
	if p.Step >= len(f.path) || !slices.Contains(p.Runnable, f.path[p.Step]) {
		f.over = true
		return 0, true
	}
	return f.path[p.Step], false
}
