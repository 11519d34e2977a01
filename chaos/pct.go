package chaos

import (
	"math/rand/v2"
	"slices"
)

// PCT is the probabilistic concurrency testing strategy of Burckhardt et al.
// (ASPLOS 2010): threads get random distinct priorities, the highest-priority
// runnable thread runs, and at depth-1 change points, drawn uniformly and
// distinct over the first steps choice points, the running thread drops
// below every initial priority (the i-th change point gives priority i, as
// in the paper). Only real choices count: a point where one thread alone
// can run is forced, not a choice point, as in the paper and Shuttle's
// pct.rs. Priorities are a permutation: a thread seen for the first time
// takes a uniformly random rank among the threads seen so far. PCT alone
// is unfair (a spinning high-priority thread starves the rest), so, as in
// Coyote's fair-prioritization strategy, it switches to Random for good
// after 2*steps choice points, or as soon as one thread has been chosen
// starveLimit times in a row while another was runnable.
func PCT(depth int, seed uint64, steps int) Strategy {
	if depth < 1 {
		depth = 1
	}
	if steps < 1 {
		steps = 1
	}
	rng := rand.New(rand.NewPCG(seed, seed^0xd1b54a32d192ed03))
	p := &pct{rng: rng, lowered: map[int]int{}, bound: 2 * steps, depth: depth}
	// depth-1 distinct change points among the first steps choices (fewer
	// when there are not that many).
	for _, k := range rng.Perm(steps)[:min(depth-1, steps)] {
		p.change = append(p.change, 1+k)
	}
	slices.Sort(p.change)
	return p
}

type pct struct {
	rng   *rand.Rand
	depth int
	// order holds the threads not lowered by a change point, highest
	// priority first; lowered maps the others to their priority i (the
	// i-th change point), below every thread in order.
	order   []int
	lowered map[int]int
	change  []int // change points (choice numbers), ascending
	next    int   // index of the next change point
	step    int   // choice points so far (forced points not counted)
	bound   int
	last    int
	streak  int
	fair    bool
}

// priority returns id's priority: the threads of order rank above
// depth-1, in order; a lowered thread has its change point's number.
func (p *pct) priority(id int) int {
	if v, ok := p.lowered[id]; ok {
		return v
	}
	k := slices.Index(p.order, id)
	if k < 0 {
		// A thread seen for the first time takes a random rank among
		// those seen so far.
		k = p.rng.IntN(len(p.order) + 1)
		p.order = slices.Insert(p.order, k, id)
	}
	return p.depth + len(p.order) - 1 - k
}

func (p *pct) Choose(runnable []int, cur int) int {
	if len(runnable) == 1 {
		return runnable[0] // forced: not a choice point
	}
	p.step++
	if p.fair || p.step > p.bound {
		p.fair = true
		return runnable[p.rng.IntN(len(runnable))]
	}
	for p.next < len(p.change) && p.change[p.next] == p.step {
		p.next++
		p.priority(cur)
		p.order = slices.DeleteFunc(p.order, func(id int) bool { return id == cur })
		p.lowered[cur] = p.next
	}
	best, bestPrio := -1, -1
	for _, id := range runnable {
		if v := p.priority(id); v > bestPrio {
			best, bestPrio = id, v
		}
	}
	if best == p.last {
		p.streak++
		if p.streak >= starveLimit {
			p.fair = true
		}
	} else {
		p.streak = 0
	}
	p.last = best
	return best
}

// priorities returns every known thread's priority (for tests: they must
// be distinct).
func (p *pct) priorities() map[int]int {
	out := map[int]int{}
	for _, id := range p.order {
		out[id] = p.priority(id)
	}
	for id, v := range p.lowered {
		out[id] = v
	}
	return out
}
