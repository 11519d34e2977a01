package chaos

import "math/rand/v2"

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
