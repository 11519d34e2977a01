//go:build !race

package exhaustive_test

const raceEnabled = false
