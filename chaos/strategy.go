package chaos

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// A Strategy picks the thread that runs at each scheduling point. runnable
// holds the ids of the threads that can run, in increasing order, and is
// never empty; cur is the id of the thread that reached the point (it may or
// may not be in runnable). Choose returns one element of runnable.
//
// A strategy is a deterministic function of its construction arguments and
// the sequence of calls: the same calls give the same choices.
type Strategy interface {
	Choose(runnable []int, cur int) int
}

// A Diverger is a strategy that follows a recorded schedule and can fall off
// it: Diverged reports the step (0-based) at which it stopped following.
type Diverger interface {
	Diverged() (step int, ok bool)
}

// Random picks uniformly among the runnable threads. It is fair with
// probability 1.
func Random(seed uint64) Strategy {
	return &random{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

type random struct{ rng *rand.Rand }

func (r *random) Choose(runnable []int, _ int) int {
	if len(runnable) == 1 {
		return runnable[0]
	}
	return runnable[r.rng.IntN(len(runnable))]
}

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

const starveLimit = 64

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

// Replay follows a recorded list of thread ids. When the list runs out, or
// names a thread that cannot run, it diverges: from then on it is Random,
// seeded from the schedule, and Diverged reports the step.
func Replay(choices []int) Strategy {
	return &follow{choices: choices, diverged: -1, then: func() Strategy { return Random(SeedOf(choices)) }}
}

// follow plays recorded choices, then hands over to another strategy.
type follow struct {
	choices  []int
	step     int
	diverged int
	then     func() Strategy
	tail     Strategy
}

func (f *follow) Choose(runnable []int, cur int) int {
	i := f.step
	f.step++
	if f.tail == nil {
		if i < len(f.choices) && contains(runnable, f.choices[i]) {
			return f.choices[i]
		}
		f.diverged = i
		f.tail = f.then()
	}
	return f.tail.Choose(runnable, cur)
}

func (f *follow) Diverged() (int, bool) { return f.diverged, f.diverged >= 0 }

// Stream picks runnable[b mod len(runnable)] for each byte b in turn, then
// continues as Random seeded from the bytes. Every byte string is a valid
// stream, so fuzzers can mutate it freely.
func Stream(data []byte) Strategy {
	return &stream{data: data}
}

type stream struct {
	data     []byte
	step     int
	fallback Strategy
}

func (s *stream) Choose(runnable []int, cur int) int {
	if s.step < len(s.data) {
		b := s.data[s.step]
		s.step++
		return runnable[int(b)%len(runnable)]
	}
	if s.fallback == nil {
		ints := make([]int, len(s.data))
		for i, b := range s.data {
			ints[i] = int(b)
		}
		s.fallback = Random(SeedOf(ints))
	}
	return s.fallback.Choose(runnable, cur)
}

// SeedOf derives a random seed from a list of choices (FNV-1a of their
// decimal form), so that a replay's random continuation is itself
// reproducible.
func SeedOf(choices []int) uint64 {
	h := fnv.New64a()
	for _, c := range choices {
		h.Write([]byte(strconv.Itoa(c)))
		h.Write([]byte{' '})
	}
	return h.Sum64()
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// FormatChoices writes choices space-separated, as a schedule line wants.
func FormatChoices(choices []int) string {
	var b strings.Builder
	for i, c := range choices {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(c))
	}
	return b.String()
}

// Describe names a strategy for reports.
func Describe(s Strategy) string {
	switch s := s.(type) {
	case *random:
		return "random"
	case *pct:
		return fmt.Sprintf("pct(depth=%d)", s.depth)
	case *follow:
		return "replay"
	case *stream:
		return "stream"
	}
	return fmt.Sprintf("%T", s)
}

// Sticky follows choices while they name a runnable thread, then keeps
// running the current thread while it can run, else the lowest runnable
// one: the continuation with the fewest context switches. To stay fair it
// switches to the lowest other runnable thread after starveLimit points of
// one thread in a row. Minimizers use it to cut a schedule at a point and
// let the rest run without switches; the schedule such a run records
// replays exactly under Replay.
func Sticky(choices []int) Strategy {
	return &follow{choices: choices, diverged: -1, then: func() Strategy { return &sticky{last: -1} }}
}

type sticky struct {
	last   int
	streak int
}

func (s *sticky) Choose(runnable []int, cur int) int {
	pick := runnable[0]
	if contains(runnable, cur) {
		pick = cur
	}
	if pick == s.last && s.streak >= starveLimit && len(runnable) > 1 {
		for _, id := range runnable {
			if id != pick {
				pick = id
				break
			}
		}
	}
	if pick == s.last && len(runnable) > 1 {
		s.streak++
	} else {
		s.streak = 0
	}
	s.last = pick
	return pick
}
