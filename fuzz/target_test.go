package fuzz

import (
	"bytes"
	"math/rand/v2"
	"testing"

	fuzzheaders "github.com/AdaLogics/go-fuzz-headers"
)

// FromLibFuzzer reads a test case exactly as the libFuzzer build's
// testing.F does: go-fuzz-headers' GetBytes, the pseudo-version
// go-118-fuzz-build requires.
func TestFromLibFuzzerMatchesGoFuzzHeaders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][]byte{nil, {0}, {0, 0, 0, 0}, {0, 0, 0, 0, 7}, {0, 0, 0, 1, 7, 8}, {0xff, 0xff, 0xff, 0xff, 1, 2, 3}}
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(80))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		if len(b) >= 4 && rng.IntN(2) == 0 {
			b[0], b[1], b[2] = 0, 0, 0 // small lengths, as ToLibFuzzer writes
		}
		cases = append(cases, b)
	}
	for _, raw := range cases {
		want, err := fuzzheaders.NewConsumer(raw).GetBytes()
		got, ok := FromLibFuzzer(raw)
		if ok != (err == nil) || !bytes.Equal(got, want) {
			t.Errorf("%x: FromLibFuzzer %x, %v; go-fuzz-headers %x, %v", raw, got, ok, want, err)
		}
	}
}

func TestToLibFuzzerRoundTrips(t *testing.T) {
	for _, data := range [][]byte{{1}, []byte("scenario bytes"), bytes.Repeat([]byte{9}, 300)} {
		if got, ok := FromLibFuzzer(ToLibFuzzer(data)); !ok || !bytes.Equal(got, data) {
			t.Errorf("%q: got %q, %v", data, got, ok)
		}
	}
	if ToLibFuzzer(nil) != nil {
		t.Error("empty data framed")
	}
}
