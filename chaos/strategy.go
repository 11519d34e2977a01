package chaos

import (
	"fmt"
	"hash/fnv"
	"strconv"
)

// A Strategy picks the thread that runs at each scheduling point. runnable
// holds the ids of the threads that can run, in increasing order, and is
// never empty; cur is the id of the thread that reached the point (it may or
// may not be in runnable). Choose returns one element of runnable.
//
// A strategy is a deterministic function of its construction arguments and
// the sequence of calls: the same calls give the same choices. Each
// strategy has its own file: random.go, pct.go, replay.go (Replay and the
// recorded-prefix follower it shares with Sticky), stream.go, sticky.go.
type Strategy interface {
	Choose(runnable []int, cur int) int
}

// A Diverger is a strategy that follows a recorded schedule and can fall off
// it: Diverged reports the step (0-based) at which it stopped following.
type Diverger interface {
	Diverged() (step int, ok bool)
}

// starveLimit is how many scheduling points in a row one thread may be
// chosen while another could run before a strategy lets another run: PCT
// then turns to Random for good, Sticky switches once.
const starveLimit = 64

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
