package report_test

import (
	"bytes"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/grid"
	"github.com/shutdownfuzz/shutdownfuzz/report"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
	"github.com/shutdownfuzz/shutdownfuzz/scenarios"
)

// libraryMatrix is the library's exhaustive matrix (every scenario, the
// patterns among them, under every policy): the report that matrix
// -exhaustive writes for it.
func libraryMatrix(b *testing.B) *report.Matrix {
	b.Helper()
	var entries []grid.Entry
	for _, n := range scenarios.Names() {
		src, file, _ := scenarios.Source(n)
		s, err := scenario.Parse(file, src)
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, grid.Entry{File: n, Scenario: s})
	}
	m, err := grid.BuildWith(entries, nil, grid.Options{Runs: 1, Exhaustive: true})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkLibraryReport renders the library's exhaustive matrix: the
// HTML page and the JSON, each on its own.
func BenchmarkLibraryReport(b *testing.B) {
	m := libraryMatrix(b)
	b.Run("HTML", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := m.HTML(&buf); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len())/1e6, "MB")
	})
	b.Run("JSON", func(b *testing.B) {
		var n int
		for b.Loop() {
			js, err := m.JSON()
			if err != nil {
				b.Fatal(err)
			}
			n = len(js)
		}
		b.ReportMetric(float64(n)/1e6, "MB")
	})
}
