//go:build race

package exhaustive_test

// raceEnabled: the tests run under the race detector, about ten times
// slower; the step function's differential tests then compare fewer and
// smaller searches.
const raceEnabled = true
