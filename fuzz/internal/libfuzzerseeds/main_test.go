package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every seed becomes a test case that reads back as the seed's input; a
// second run changes nothing; a file with other content is not
// overwritten.
func TestConvert(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "fuzz", "FuzzShutdown")
	out := t.TempDir()
	n, err := convert(src, out)
	if err != nil || n == 0 {
		t.Fatalf("convert: %d, %v", n, err)
	}
	paths, _ := filepath.Glob(filepath.Join(src, "*"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		want, _ := fuzz.UnmarshalCorpusFile(b)
		raw, err := os.ReadFile(filepath.Join(out, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := fuzz.FromLibFuzzer(raw); !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: reads back as %q, want %q", p, got, want)
		}
	}
	if again, err := convert(src, out); err != nil || again != n {
		t.Errorf("second run: %d, %v", again, err)
	}
	victim := filepath.Join(out, filepath.Base(paths[0]))
	os.WriteFile(victim, []byte("user's"), 0o644)
	if _, err := convert(src, out); err == nil {
		t.Error("a file with other content was overwritten")
	}
	if b, _ := os.ReadFile(victim); string(b) != "user's" {
		t.Errorf("file changed to %q", b)
	}
}
