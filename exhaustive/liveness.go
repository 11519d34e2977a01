package exhaustive

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Report kinds of outcomes found as cycles.
const (
	// KindLivelock: a fair cycle in which main never runs: it is blocked
	// for good while other threads may go on running (deadlock).
	KindLivelock = "livelock"
	// KindMainLoops: a fair cycle in which main itself runs: an endless
	// loop on main's path (budget).
	KindMainLoops = "endless-loop"
)

// component is a fair strongly connected component of the state graph.
type component struct {
	states  []int32 // increasing
	stepped []bool  // by thread: steps inside the component
}

// liveness finds the fair components and turns each into a deadlock or
// budget outcome with a lasso witness.
func (x *search) liveness(g *graph) error {
	all := make([]int32, g.states())
	for i := range all {
		all[i] = int32(i)
	}
	comps := x.fairComponents(g, all)
	slices.SortFunc(comps, func(a, b component) int { return int(a.states[0] - b.states[0]) })
	for _, c := range comps {
		o, kind := runtime.Deadlock, KindLivelock
		if c.stepped[0] {
			o, kind = runtime.Budget, KindMainLoops
		}
		if w := x.res.Outcomes[o]; w != nil {
			w.Count++
			continue
		}
		w, err := x.lasso(g, c, o, kind)
		if err != nil {
			return err
		}
		x.res.Outcomes[o] = w
	}
	return nil
}

// fairComponents returns the fair components among set (strong fairness:
// every thread enabled in a component steps inside it). An unfair
// component loses the states where a thread that never steps is enabled,
// and what is left is split again.
func (x *search) fairComponents(g *graph, set []int32) []component {
	var out []component
	for _, comp := range sccs(g, set) {
		in := make(map[int32]bool, len(comp))
		for _, s := range comp {
			in[s] = true
		}
		nthreads := len(x.sc.Threads)
		stepped, enabled := make([]bool, nthreads), make([]bool, nthreads)
		internal := false
		for _, s := range comp {
			for _, e := range g.edgesOf(s) {
				enabled[e.thread] = true
				if e.to >= 0 && in[e.to] {
					stepped[e.thread], internal = true, true
				}
			}
		}
		if !internal {
			continue
		}
		var keep []int32
		for _, s := range comp {
			ok := true
			for _, e := range g.edgesOf(s) {
				if !stepped[e.thread] {
					ok = false
				}
			}
			if ok {
				keep = append(keep, s)
			}
		}
		if len(keep) == len(comp) {
			slices.Sort(comp)
			out = append(out, component{states: comp, stepped: stepped})
		} else if len(keep) > 0 {
			out = append(out, x.fairComponents(g, keep)...)
		}
	}
	return out
}

// selfLoop reports whether some transition of s leads back to s.
func selfLoop(g *graph, s int32) bool {
	for _, e := range g.edgesOf(s) {
		if e.to == s {
			return true
		}
	}
	return false
}

// sccs is Tarjan's algorithm, iterative, over the subgraph induced by set.
// Its tables are slices by state (index -1: not visited yet). It returns
// the components that hold a cycle: a state on none (most of them) is a
// component of its own with no transition to itself, and is left out.
func sccs(g *graph, set []int32) [][]int32 {
	n := g.states()
	tj := &tarjan{g: g, index: make([]int32, n), low: make([]int32, n), member: make([]bool, n), onStack: make([]bool, n)}
	for i := range tj.index {
		tj.index[i] = -1
	}
	for _, s := range set {
		tj.member[s] = true
	}
	for _, root := range set {
		if tj.index[root] < 0 {
			tj.visit(root)
		}
	}
	return tj.out
}

type tarjan struct {
	g          *graph
	index, low []int32
	member     []bool
	onStack    []bool
	stack      []int32
	out        [][]int32
	next       int32
	frames     []tarjanFrame
}

type tarjanFrame struct {
	s int32
	e int // next edge to look at
}

func (tj *tarjan) push(s int32) {
	tj.index[s], tj.low[s] = tj.next, tj.next
	tj.next++
	tj.stack = append(tj.stack, s)
	tj.onStack[s] = true
	tj.frames = append(tj.frames, tarjanFrame{s: s})
}

// visit runs the depth-first search from root with an explicit stack.
func (tj *tarjan) visit(root int32) {
	tj.push(root)
	for len(tj.frames) > 0 {
		f := &tj.frames[len(tj.frames)-1]
		if edges := tj.g.edgesOf(f.s); f.e < len(edges) {
			t := edges[f.e].to
			f.e++
			if t < 0 || !tj.member[t] {
				continue
			}
			if tj.index[t] < 0 {
				tj.push(t)
			} else if tj.onStack[t] {
				tj.low[f.s] = min(tj.low[f.s], tj.index[t])
			}
			continue
		}
		s := f.s
		tj.frames = tj.frames[:len(tj.frames)-1]
		if len(tj.frames) > 0 {
			p := tj.frames[len(tj.frames)-1].s
			tj.low[p] = min(tj.low[p], tj.low[s])
		}
		if tj.low[s] == tj.index[s] {
			tj.pop(s)
		}
	}
}

// pop takes the component rooted at s off the stack.
func (tj *tarjan) pop(s int32) {
	if tj.stack[len(tj.stack)-1] == s && !selfLoop(tj.g, s) {
		tj.stack = tj.stack[:len(tj.stack)-1]
		tj.onStack[s] = false
		return
	}
	var comp []int32
	for {
		t := tj.stack[len(tj.stack)-1]
		tj.stack = tj.stack[:len(tj.stack)-1]
		tj.onStack[t] = false
		comp = append(comp, t)
		if t == s {
			break
		}
	}
	tj.out = append(tj.out, comp)
}

// cycle is a closed walk from c.states[0] inside c that takes a step of
// every thread that steps in c.
func cycle(g *graph, c component) []int {
	in := map[int32]bool{}
	for _, s := range c.states {
		in[s] = true
	}
	at := c.states[0]
	var walk []int
	for t, ok := range c.stepped {
		if !ok {
			continue
		}
		steps, end := bfs(g, in, at, func(s int32) bool { return stepsInside(g, in, s, t) >= 0 })
		walk = append(walk, steps...)
		e := stepsInside(g, in, end, t)
		walk = append(walk, t)
		at = g.edgesOf(end)[e].to
	}
	steps, _ := bfs(g, in, at, func(s int32) bool { return s == c.states[0] })
	return append(walk, steps...)
}

// stepsInside returns the index of an edge of s by thread t that stays in
// the component, or -1.
func stepsInside(g *graph, in map[int32]bool, s int32, t int) int {
	for i, e := range g.edgesOf(s) {
		if int(e.thread) == t && e.to >= 0 && in[e.to] {
			return i
		}
	}
	return -1
}

// bfs finds the shortest walk inside the component from s to a state
// where goal holds, and returns its choices and that state.
func bfs(g *graph, in map[int32]bool, s int32, goal func(int32) bool) ([]int, int32) {
	type back struct{ from, thread int32 }
	prev := map[int32]back{s: {-1, -1}}
	queue := []int32{s}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if goal(u) {
			var steps []int
			for v := u; v != s; v = prev[v].from {
				steps = append(steps, int(prev[v].thread))
			}
			slices.Reverse(steps)
			return steps, u
		}
		for _, e := range g.edgesOf(u) {
			if _, seen := prev[e.to]; e.to >= 0 && in[e.to] && !seen {
				prev[e.to] = back{u, e.thread}
				queue = append(queue, e.to)
			}
		}
	}
	panic("exhaustive: a strongly connected component is not connected")
}

// lasso builds the witness of a fair component: the way in, one turn of
// the cycle, and a report of what main waits for, read from a replay.
func (x *search) lasso(g *graph, c component, o runtime.Outcome, kind string) (*Witness, error) {
	prefix := g.pathTo(c.states[0])
	cyc := cycle(g, c)
	rd := &reader{path: prefix}
	x.res.WitnessRuns++
	if _, err := runtime.RunChooser(x.sc, x.config(), x.tab, rd); err != nil {
		return nil, err
	}
	var running []string
	for t, ok := range c.stepped {
		if ok {
			running = append(running, x.sc.Threads[t].Name)
		}
	}
	msg := fmt.Sprintf("main waits for %s for ever: in a fair cycle of %d state(s) only %s run(s), and none of them can let main go on; the process never exits",
		rd.wait, len(c.states), strings.Join(running, ", "))
	if o == runtime.Budget {
		msg = fmt.Sprintf("main loops for ever: a fair cycle of %d state(s) in which %s run(s) never leads to the process exiting", len(c.states), strings.Join(running, ", "))
	}
	sched := append(slices.Clone(prefix), cyc...)
	res := &runtime.Result{Scenario: x.sc.Name, Policy: x.opts.Policy, Strategy: "exhaustive", Mode: "controlled",
		Outcome: o, Schedule: sched, Steps: len(sched), Diverged: -1,
		Report: runtime.Report{Kind: kind, Thread: "main", Phase: rd.phase, Message: msg}}
	for _, t := range x.sc.Threads {
		res.Threads = append(res.Threads, t.Name)
	}
	return &Witness{Outcome: o, Schedule: sched, Cycle: cyc, Count: 1, Result: res}, nil
}

// reader replays a path and reads main's wait and phase at its end.
type reader struct {
	path  []int
	wait  string
	phase string
}

func (r *reader) Choose(p *runtime.Point) (int, bool) {
	if p.Step < len(r.path) {
		return r.path[p.Step], false
	}
	r.wait, r.phase = p.Waiting(0), p.Phase()
	if r.wait == "" {
		r.wait = "its turn (it can run but a fair schedule never lets it leave)"
	}
	return 0, true
}

// cyclic reports whether the search's graph has a cycle (a depth-first
// search with three colours over the explored edges).
func (x *search) cyclic() bool {
	n := min(x.nnodes.Load(), int64(x.opts.MaxStates))
	const (
		white = iota
		grey
		black
	)
	colour := make([]uint8, n)
	type frame struct {
		s int32
		e int
	}
	var stack []frame
	for root := range int32(n) {
		if colour[root] != white {
			continue
		}
		colour[root] = grey
		stack = append(stack[:0], frame{s: root})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			nd := x.nodes.at(int64(f.s))
			if f.e == int(nd.n) {
				colour[f.s] = black
				stack = stack[:len(stack)-1]
				continue
			}
			to := x.nodeEdge(nd, f.e).to
			f.e++
			switch {
			case to < 0:
			case colour[to] == grey:
				return true
			case colour[to] == white:
				colour[to] = grey
				stack = append(stack, frame{s: to})
			}
		}
	}
	return false
}
