package chaos

import "slices"

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
	if slices.Contains(runnable, cur) {
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
