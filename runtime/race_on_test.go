//go:build race

package runtime_test

// raceEnabled: the tests run under the race detector, about ten times
// slower; the structural property test then covers a rotating part of the
// preset groups (every group still, over the cases).
const raceEnabled = true
