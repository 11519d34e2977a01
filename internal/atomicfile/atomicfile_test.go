package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// names lists dir's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateWritesANewFileAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	if err := Create(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if got := content(t, p); got != "one" {
		t.Errorf("content %q", got)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"report.json"}) {
		t.Errorf("directory holds %q, want only report.json", got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm()&0o600 != 0o600 {
		t.Errorf("mode %v: not readable and writable by its owner", fi.Mode())
	}
}

// The guarantee's first promise: nothing is overwritten unless asked.
func TestCreateNeverClobbers(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mine.scn")
	if err := os.WriteFile(p, []byte("user's file"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Create(p, []byte("ours"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file: %v, want fs.ErrExist", err)
	}
	if got := content(t, p); got != "user's file" {
		t.Errorf("the existing file was changed to %q", got)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"mine.scn"}) {
		t.Errorf("directory holds %q after a refused Create", got)
	}
}

// The hard link refuses an existing name even when the name appears after
// Create's first check (a racing writer).
func TestLinkRefusesAnExistingName(t *testing.T) {
	dir := t.TempDir()
	tmp, p := filepath.Join(dir, ".x1"), filepath.Join(dir, "x")
	os.WriteFile(tmp, []byte("new"), 0o644)
	os.WriteFile(p, []byte("old"), 0o644)
	if err := linkInto(tmp, p); !errors.Is(err, fs.ErrExist) {
		t.Errorf("linkInto over an existing name: %v, want fs.ErrExist", err)
	}
	if got := content(t, p); got != "old" {
		t.Errorf("content %q after a refused link", got)
	}
}

func TestReplaceOverwrites(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for _, data := range []string{"1", "22", ""} {
		if err := Replace(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got := content(t, p); got != data {
			t.Errorf("content %q, want %q", got, data)
		}
	}
	if got := names(t, dir); !slices.Equal(got, []string{"state.json"}) {
		t.Errorf("directory holds %q", got)
	}
	if err := Write(p, []byte("w"), false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Write without overwrite: %v", err)
	}
	if err := Write(p, []byte("w"), true); err != nil || content(t, p) != "w" {
		t.Errorf("Write with overwrite: %v", err)
	}
}

func TestMissingDirectoryFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing", "y")
	for _, overwrite := range []bool{false, true} {
		if err := Write(p, nil, overwrite); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("overwrite=%v: %v, want fs.ErrNotExist", overwrite, err)
		}
	}
}

// A failed write leaves no temporary file: here the move fails because the
// target is a non-empty directory.
func TestFailedReplaceRemovesItsTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Replace(p, []byte("x")); err == nil {
		t.Fatal("Replace over a non-empty directory succeeded")
	}
	if got := names(t, dir); !slices.Equal(got, []string{"out"}) {
		t.Errorf("directory holds %q after a failed Replace", got)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{".state.json123", ".a.scn9", ".b.scn", ".bashrc", "c.scn", ".x.txt42", ".7"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	if n := RemoveTemps(dir, "*.scn"); n != 1 {
		t.Errorf("removed %d for *.scn, want 1", n)
	}
	if n := RemoveTemps(dir, "state.json"); n != 1 {
		t.Errorf("removed %d for state.json, want 1", n)
	}
	want := []string{".7", ".b.scn", ".bashrc", ".x.txt42", "c.scn"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("left %q, want %q", got, want)
	}
	if RemoveTemps(filepath.Join(dir, "none"), "*") != 0 {
		t.Error("removed files from a missing directory")
	}
}

// A temporary file Create leaves while it runs is one RemoveTemps knows.
func TestTempNamingMatchesRenameio(t *testing.T) {
	dir := t.TempDir()
	p, err := newPending(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.cleanup()
	target, ok := TempTarget(filepath.Base(p.Name()))
	if !ok || target != "summary.json" {
		t.Errorf("temporary file %s: target %q, %v", p.Name(), target, ok)
	}
	if filepath.Dir(p.Name()) != dir {
		t.Errorf("temporary file %s is not in %s", p.Name(), dir)
	}
}
