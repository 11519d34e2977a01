package fuzz

import (
	"fmt"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

//go:generate go run ./internal/genseeds testdata/fuzz/FuzzShutdown

// Seeds returns the FuzzShutdown seed corpus generated from the built-in
// library: file name to go test fuzz v1 content, one file per library
// scenario that fits the fuzz encoding.
func Seeds() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, name := range scenarios.Names() {
		src, file, _ := scenarios.Source(name)
		s, err := scenario.Parse(file, src)
		if err != nil {
			return nil, err
		}
		data, err := scenario.Encode(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		content := MarshalCorpusFile(data)
		out[CorpusFileName(content)] = content
	}
	return out, nil
}
