package fuzz

import (
	"encoding/binary"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

// CheckPolicies is one exec of FuzzShutdown (go test -fuzz, and the
// libFuzzer build in fuzz/libfuzzer): verdict.Check under each policy in
// turn, up to the first failure; it returns that failure and the
// inconclusive verdicts met before it (never a pass). A run in which no
// thread met the policy ends the loop: the runtime reads the policy only
// there (runtime/exit.go, strike), so every other policy gives this same
// run and the same verdict (TestStrikeFreeRunsIgnorePolicy).
func CheckPolicies(s *scenario.Scenario, policies []string, opts verdict.Options) (fail *verdict.Failure, inconclusive []*verdict.Failure) {
	for _, p := range policies {
		r, f := verdict.Check(s, p, opts)
		switch {
		case f == nil:
		case !f.Inconclusive:
			return f, inconclusive
		default:
			inconclusive = append(inconclusive, f)
		}
		if r != nil && r.Strikes == 0 {
			break
		}
	}
	return nil, inconclusive
}

// DefaultSteps is FuzzShutdown's step budget per run (-sfz.steps).
const DefaultSteps = 5000

// A libFuzzer build of FuzzShutdown (go-118-fuzz-build) does not hand the
// engine's bytes to the target as they are: its testing.F reads the []byte
// argument with go-fuzz-headers' ConsumeFuzzer.GetBytes, a 4-byte
// big-endian length, then that many bytes (0 means 30; a length other
// than the bytes left is taken modulo them). So a libFuzzer crash file is
// that framing around the input.

// FromLibFuzzer returns the []byte argument FuzzShutdown receives when a
// libFuzzer build runs the test case raw, and false when the harness does
// not call the target at all (fewer than 5 bytes).
func FromLibFuzzer(raw []byte) ([]byte, bool) {
	if len(raw) < 5 {
		return nil, false
	}
	n := binary.BigEndian.Uint32(raw)
	rest := raw[4:]
	left := uint32(len(rest))
	if n == 0 {
		n = 30
	}
	if n != left {
		n %= left
	}
	return rest[:n], true
}

// ToLibFuzzer frames data as a libFuzzer test case that FromLibFuzzer
// (and the libFuzzer build) reads back as data: seeds for the libFuzzer
// corpus. Empty data has no framing and gives nil.
func ToLibFuzzer(data []byte) []byte {
	if len(data) == 0 {
		return nil
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	return append(out, data...)
}
