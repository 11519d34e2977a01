// Command libfuzzerseeds turns the FuzzShutdown seed corpus (go test fuzz
// v1 files) into test cases for the libFuzzer build of fuzz/libfuzzer:
// each input framed as go-118-fuzz-build's harness reads it
// (fuzz.ToLibFuzzer). `make libfuzzer` and .clusterfuzzlite/build.sh run
// it:
//
//	go run ./fuzz/internal/libfuzzerseeds fuzz/testdata/fuzz/FuzzShutdown OUTDIR
//
// OUTDIR is created if need be; a file there is never overwritten (a seed
// already present with the same content is skipped).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shutdownfuzz/shutdownfuzz/fuzz"
	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: libfuzzerseeds SEEDDIR OUTDIR")
		os.Exit(2)
	}
	n, err := convert(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "libfuzzerseeds:", err)
		os.Exit(1)
	}
	fmt.Printf("libfuzzerseeds: %d test cases in %s\n", n, os.Args[2])
}

func convert(src, out string) (int, error) {
	paths, err := filepath.Glob(filepath.Join(src, "*"))
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return n, err
		}
		data, err := fuzz.UnmarshalCorpusFile(b)
		if err != nil {
			return n, fmt.Errorf("%s:%v", p, err)
		}
		raw := fuzz.ToLibFuzzer(data)
		if raw == nil {
			continue
		}
		dst := filepath.Join(out, filepath.Base(p))
		err = atomicfile.Create(dst, raw)
		if errors.Is(err, fs.ErrExist) {
			if old, rerr := os.ReadFile(dst); rerr == nil && bytes.Equal(old, raw) {
				err = nil
			} else {
				err = fmt.Errorf("%s exists with other content; not overwriting it", dst)
			}
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
