// Package corpus is the regression corpus: minimized crashers stored as
// readable .scn files. Each file carries a comment saying where and how it
// was found, its policy line, expect lines and the schedule replay line
// that reproduces it. The package loads a corpus directory (a corrupt file
// is an error for that file only), replays entries, and saves new ones
// under content-hash names, never overwriting a file.
package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/internal/shell"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Entry is one corpus file.
type Entry struct {
	Path     string
	Scenario *scenario.Scenario // nil when Err is set
	Err      error              // a parse error, as path:line:col: message
	// Signature is the failure the file records in its "# Signature:"
	// comment (runtime.Result.Signature), or "".
	Signature string
}

// Load reads every .scn file of dir, in name order.
func Load(dir string) ([]Entry, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.scn"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Entry
	for _, p := range paths {
		out = append(out, LoadFile(p))
	}
	return out, nil
}

// LoadFile reads one corpus file.
func LoadFile(path string) Entry {
	src, err := os.ReadFile(path)
	if err != nil {
		return Entry{Path: path, Err: err}
	}
	s, err := scenario.Parse(path, src)
	if err != nil {
		return Entry{Path: path, Err: err}
	}
	return Entry{Path: path, Scenario: s, Signature: recorded(src, "Signature")}
}

// recorded returns the value of the first "# KEY: value" comment line.
func recorded(src []byte, key string) string {
	for _, line := range strings.Split(string(src), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# "+key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// RerunCommand is the command that replays a corpus file under policy
// (its schedule line reproduces the run), with the path quoted.
func RerunCommand(policy, path string) string {
	return "shutdownfuzz run -policy " + policy + " " + shell.Quote(path)
}

// Check is the replay of one corpus entry under one policy.
type Check struct {
	Policy   string
	Result   *runtime.Result
	Expected []string
	OK       bool
}

// Replay runs the entry's scenario with its schedule line under every
// policy that its expect lines name, and checks each outcome.
func Replay(s *scenario.Scenario) ([]Check, error) {
	var out []Check
	for _, p := range scenario.Policies {
		set, ok := s.Expected(p)
		if !ok {
			continue
		}
		r, err := runtime.Run(s, runtime.Config{Policy: p})
		if err != nil {
			return nil, err
		}
		out = append(out, Check{Policy: p, Result: r, Expected: scenario.OutcomesIn(set), OK: set[string(r.Outcome)]})
	}
	if len(out) == 0 {
		return nil, errors.New("no expect lines: a corpus file must say what it expects")
	}
	return out, nil
}

// FileName names corpus content: POLICY-OUTCOME-HASH.scn, where HASH is the
// first 16 hex digits of the content's SHA-256, as Go's fuzz cache names
// its files.
func FileName(policy string, outcome runtime.Outcome, content []byte) string {
	sum := sha256.Sum256(content)
	return fmt.Sprintf("%s-%s-%s.scn", policy, outcome, hex.EncodeToString(sum[:])[:16])
}

// Format writes a corpus file: the comment lines, then the scenario in
// canonical form.
func Format(comments []string, s *scenario.Scenario) []byte {
	var b bytes.Buffer
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
		}
	}
	b.Write(scenario.Print(s))
	return b.Bytes()
}

// Save writes content into dir under name. It never overwrites: if the
// file exists with the same content, Save does nothing and reports
// created false; if it exists with other content, Save fails. The write is
// atomic (internal/atomicfile's Create).
func Save(dir, name string, content []byte) (path string, created bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, err
	}
	path = filepath.Join(dir, name)
	err = atomicfile.Create(path, content)
	if errors.Is(err, fs.ErrExist) {
		if old, rerr := os.ReadFile(path); rerr == nil && bytes.Equal(old, content) {
			return path, false, nil
		}
		return path, false, fmt.Errorf("%s exists with other content; not overwriting it", path)
	}
	if err != nil {
		return "", false, err
	}
	return path, true, nil
}
