// Package fuzzcap bounds how long Go's fuzzer minimizes each new
// interesting input when -fuzzminimizetime is not given. Go's default is
// 60s per input, and the coordinator counts no execs while the workers
// minimize: with an exec costing a few hundred microseconds, removing byte
// ranges from a 200-byte input took up to 12s, seen as stretches of 0
// execs/s. Crashers are minimized for good by `shutdownfuzz minimize`,
// which keeps the failure's signature; -fuzzminimizetime=60s restores Go's
// default. A fuzz package's TestMain calls Apply after flag.Parse.
package fuzzcap

import "flag"

// Cap is the minimization time per input unless the command line sets one.
const Cap = "1s"

// Apply sets -test.fuzzminimizetime to Cap unless it was given.
func Apply() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given && flag.Lookup("test.fuzzminimizetime") != nil {
		if err := flag.Set("test.fuzzminimizetime", Cap); err != nil {
			panic(err) // a constant the testing package accepts
		}
	}
}
