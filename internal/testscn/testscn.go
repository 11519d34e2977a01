// Package testscn holds the scenarios that the tests of several packages
// share, each written once, as a file of testdata. Each function returns
// its scenario's source under the name a test gives it, so that every
// test keeps its own name (names show in reports, and one test checks how
// a name with markup is escaped); a test appends its own expect lines.
// Nothing but tests imports it.
package testscn

import (
	_ "embed"
	"strconv"
	"strings"
)

//go:embed testdata/held-lock.scn
var heldLock string

//go:embed testdata/lock-loop.scn
var lockLoop string

//go:embed testdata/event-wait-hang.scn
var eventWaitHang string

// HeldLock is a daemon that takes lock L and does io while holding it;
// main waits until the daemon holds L and returns, and teardown takes L.
// Under hang the daemon parks for ever holding L, so teardown waits for
// it: a deadlock, or clean when the daemon let L go in time.
func HeldLock(name string) string { return named(heldLock, name) }

// LockLoop is a daemon that loops for ever taking lock L around io; main
// does some work and returns, and teardown takes L. Under hang the daemon
// can park for ever holding L, and teardown's lock L then waits for it: a
// deadlock. (The library scenario hang-holds-lock has the same threads,
// with its own preset, policy and expect lines.)
func LockLoop(name string) string { return named(lockLoop, name) }

// EventWaitHang is a teardown that waits on an event only a daemon would
// set, after the daemon itself waits for teardown's signal, while an
// unrelated foreign thread spins. A policy that stops the daemon leaves
// teardown waiting for ever: a deadlock, not the step budget.
func EventWaitHang(name string) string { return named(eventWaitHang, name) }

// named renames src, a scenario whose first line is its scenario line.
func named(src, name string) string {
	_, rest, _ := strings.Cut(src, "\n")
	return "scenario " + strconv.Quote(name) + "\n" + rest
}
