package fuzz

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/verdict"
)

// BenchmarkExec measures one FuzzShutdown exec (decode, then
// CheckPolicies) over the seed corpus, cycling through the seeds, on the
// engine -sfz.engine names. Its
// inverse bounds the execs/s a fuzz worker can reach; compare it with the
// "execs" rate `go test -fuzz=FuzzShutdown ./fuzz` prints.
func BenchmarkExec(b *testing.B) {
	seeds, err := Seeds()
	if err != nil {
		b.Fatal(err)
	}
	var inputs [][]byte
	for _, content := range seeds {
		data, err := UnmarshalCorpusFile(content)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, data)
	}
	eng := engine(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := scenario.Decode(inputs[i%len(inputs)])
		if fail, _ := CheckPolicies(s, scenario.Policies, verdict.Options{MaxSteps: 5000, Engine: eng}); fail != nil {
			b.Fatal(fail)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "execs/s")
}
