package chaos

import (
	"fmt"
	"strings"
)

// How a wait-for chain ends (End.ChainEnd).
const (
	ChainNever    = "never"    // a wait that says it can never become ready (Hopeless)
	ChainCycle    = "cycle"    // the edges come back to a thread
	ChainForever  = "forever"  // a wait that is never ready (a hung thread)
	ChainEnded    = "ended"    // a thread that has ended, holding what is waited for
	ChainOpen     = "open"     // a wait with no known blocker
	ChainRunnable = "runnable" // a thread that can run: the start is not stuck
)

// chain follows the wait-for edges from thread id until they repeat, end
// at a thread that is not blocked, or end at a wait nobody can satisfy. It
// returns one line per thread and how the chain ends.
func (c *Controller) chain(id int) ([]string, string) {
	var lines []string
	seen := map[int]bool{}
	for {
		if seen[id] {
			lines[len(lines)-1] += " (cycle)"
			return lines, ChainCycle
		}
		seen[id] = true
		t := c.threads[id]
		if t == nil {
			return lines, ChainOpen
		}
		name := c.name(id)
		if t.done {
			lines = append(lines, name+" has ended")
			return lines, ChainEnded
		}
		if t.wait == nil || t.wait.Ready() {
			lines = append(lines, name+" can run")
			return lines, ChainRunnable
		}
		next := t.wait.Blocker()
		line := fmt.Sprintf("%s waits for %s", name, t.wait)
		if next >= 0 {
			line += " (held by " + c.name(next) + ")"
		}
		lines = append(lines, line)
		if _, ok := t.wait.(Forever); ok {
			return lines, ChainForever
		}
		if next < 0 {
			return lines, ChainOpen
		}
		id = next
	}
}

// name names thread id in wait-for chains.
func (c *Controller) name(id int) string {
	if c.opts.Name != nil {
		return c.opts.Name(id)
	}
	return fmt.Sprintf("thread %d", id)
}

// blockedForGood reports whether thread id is blocked and can never run
// again: its wait-for chain, through BlockerOnly waits, ends at a Hopeless
// or Forever wait, an ended thread, or a cycle. It allocates nothing; it
// runs at every scheduling point where thread 0 is blocked.
func (c *Controller) blockedForGood(id int) bool {
	for hops := 0; hops <= len(c.threads); hops++ {
		t := c.threads[id]
		if t == nil {
			return false
		}
		if t.done {
			return hops > 0
		}
		if t.wait == nil || t.wait.Ready() {
			return false
		}
		if _, ok := t.wait.(Forever); ok {
			return true
		}
		if h, ok := t.wait.(Hopeless); ok {
			if _, _, never := h.Never(); never {
				return true
			}
		}
		o, ok := t.wait.(BlockerOnly)
		if !ok || !o.BlockerOnly() {
			return false
		}
		if id = t.wait.Blocker(); id < 0 {
			return false
		}
	}
	return true // more hops than threads: a cycle
}

// neverChain describes the chain blockedForGood found: one line per
// thread, naming what each waits for and why it can never come.
func (c *Controller) neverChain(id int) ([]string, string) {
	var lines []string
	seen := map[int]bool{}
	for {
		t := c.threads[id]
		name := c.name(id)
		switch {
		case seen[id]:
			lines[len(lines)-1] += " (cycle)"
			return lines, ChainCycle
		case t.done:
			return append(lines, name+" has ended"), ChainEnded
		}
		seen[id] = true
		line := fmt.Sprintf("%s waits for %s", name, t.wait)
		if _, ok := t.wait.(Forever); ok {
			return append(lines, line), ChainForever
		}
		if h, ok := t.wait.(Hopeless); ok {
			if why, how, never := h.Never(); never {
				return append(lines, line+", which can never come: "+why), how
			}
		}
		id = t.wait.Blocker()
		lines = append(lines, line+" (held by "+c.name(id)+")")
	}
}

// WaitFunc adapts functions to a Wait.
type WaitFunc struct {
	ReadyFunc   func() bool
	BlockerFunc func() int
	Desc        string
	// OnlyBlocker: only an action of the blocker can make the wait ready
	// (see BlockerOnly).
	OnlyBlocker bool
}

func (w WaitFunc) BlockerOnly() bool { return w.OnlyBlocker && w.BlockerFunc != nil }

func (w WaitFunc) Ready() bool { return w.ReadyFunc() }
func (w WaitFunc) Blocker() int {
	if w.BlockerFunc == nil {
		return -1
	}
	return w.BlockerFunc()
}
func (w WaitFunc) String() string { return w.Desc }

// Forever is the Wait of a thread that will never run again.
type Forever string

func (Forever) Ready() bool      { return false }
func (Forever) Blocker() int     { return -1 }
func (f Forever) String() string { return string(f) }

// FormatCycle joins a deadlock chain for a one-line report.
func FormatCycle(lines []string) string { return strings.Join(lines, "; ") }
