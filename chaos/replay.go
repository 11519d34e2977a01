package chaos

import "slices"

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
		if i < len(f.choices) && slices.Contains(runnable, f.choices[i]) {
			return f.choices[i]
		}
		f.diverged = i
		f.tail = f.then()
	}
	return f.tail.Choose(runnable, cur)
}

func (f *follow) Diverged() (int, bool) { return f.diverged, f.diverged >= 0 }
