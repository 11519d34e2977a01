package scenario

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/decoded.golden")

// storedFuzzInputs are the fuzz inputs kept in the repository: the
// FuzzShutdown corpus of package fuzz and any FuzzDecode corpus here.
var storedFuzzInputs = []string{
	"../fuzz/testdata/fuzz/FuzzShutdown/*",
	"testdata/fuzz/*/*",
}

// readCorpusFile reads a "go test fuzz v1" file holding one []byte or
// string value (package fuzz has the full reader; scenario is a leaf).
func readCorpusFile(b []byte) ([]byte, error) {
	head, rest, _ := strings.Cut(string(b), "\n")
	if strings.TrimSpace(head) != "go test fuzz v1" {
		return nil, fmt.Errorf("not a go test fuzz v1 file")
	}
	v := strings.TrimSpace(rest)
	for _, prefix := range []string{"[]byte(", "string("} {
		if inner, ok := strings.CutPrefix(v, prefix); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(inner, ")"))
			return []byte(s), err
		}
	}
	return nil, fmt.Errorf("want one []byte or string value")
}

// TestDecodedGolden decodes every stored fuzz input, and one preset byte of
// each value 0..255, and compares the printed scenarios with
// testdata/decoded.golden: a change to the decoder's tables that remaps a
// stored input (a preset code, an op byte) fails here. Run with -update
// only when the change is meant, and read the diff: appending a release to
// the release table changes the preset line of exactly one preset byte
// (see fuzzPreset), and of no stored input unless it drew that byte.
func TestDecodedGolden(t *testing.T) {
	var b bytes.Buffer
	n := 0
	for _, pattern := range storedFuzzInputs {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data, err := readCorpusFile(raw)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			fmt.Fprintf(&b, "=== %s\n%s", filepath.ToSlash(p), Print(Decode(data)))
			n++
		}
	}
	if n == 0 {
		t.Fatal("no stored fuzz inputs found")
	}
	b.WriteString("=== preset byte: the preset line of Decode([1, byte])\n")
	for c := range 256 {
		fmt.Fprintf(&b, "%3d %s\n", c, strings.Join(Decode([]byte{1, byte(c)}).Presets, " "))
	}
	golden := filepath.Join("testdata", "decoded.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./scenario -run TestDecodedGolden -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		got, wantLines := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(got) || i < len(wantLines); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Fatalf("decoded inputs differ from %s at line %d:\n got: %s\nwant: %s", golden, i+1, g, w)
			}
		}
	}
}
