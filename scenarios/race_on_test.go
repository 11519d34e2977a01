//go:build race

package scenarios

// raceEnabled: the tests run under the race detector, about ten times
// slower; TestWorkersAgree then leaves out the larger searches.
const raceEnabled = true
