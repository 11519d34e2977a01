package conform

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// The interpreters conformance runs are scenario.Releases' Conform
// branches: the same as the list written out by hand before the table.
func TestVersionsFromReleaseTable(t *testing.T) {
	if want := []string{"3.11", "3.13", "3.14", "3.15"}; !slices.Equal(Versions, want) {
		t.Errorf("Versions = %q, want %q", Versions, want)
	}
	for _, v := range []string{DefaultVersion, HostVersion} {
		if !slices.Contains(Versions, v) {
			t.Errorf("%s is not one of Versions %q", v, Versions)
		}
	}
	if DefaultVersion != "3.14" {
		t.Errorf("DefaultVersion = %s, want 3.14", DefaultVersion)
	}
}

// Find places the host's release on the host and every other in the sid
// root, and refuses a release conformance does not run.
func TestFindPlacesInterpreters(t *testing.T) {
	root := t.TempDir()
	t.Setenv("SFZ_CONFORM_ROOT", root)
	for _, v := range Versions {
		in, err := Find(v)
		if v == HostVersion {
			if err == nil && (in.Root != "" || in.Python != "/usr/bin/python3.11") {
				t.Errorf("%s: %+v, want the host's /usr/bin/python3.11", v, in)
			}
			continue
		}
		// The empty root has no .sfz-complete: a missing sid interpreter.
		if !errors.Is(err, ErrMissing) {
			t.Errorf("%s with an empty sid root: %v, want ErrMissing", v, err)
		}
	}
	if err := os.WriteFile(root+"/.sfz-complete", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find("3.12"); err == nil || errors.Is(err, ErrMissing) {
		t.Errorf("Find(3.12) = %v, want unknown version", err)
	}
}

// A debug build ("3.Yd") is found where its release is: 3.11d on the host,
// 3.14d in the sid root, each as /usr/bin/python3.Yd; Versions keeps only
// the releases, and a bad version is refused with the valid ones.
func TestFindPlacesDebugBuilds(t *testing.T) {
	root := t.TempDir()
	t.Setenv("SFZ_CONFORM_ROOT", root)
	for _, dir := range []string{"/usr/bin"} {
		if err := os.MkdirAll(root+dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"/.sfz-complete", "/usr/bin/python3.14d", "/usr/bin/python3.14d-config", "/usr/bin/g++"} {
		if err := os.WriteFile(root+f, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in, err := Find("3.14d")
	if err != nil {
		t.Fatalf("Find(3.14d): %v", err)
	}
	if in.Root != root || in.Python != "/usr/bin/python3.14d" || !in.Debug || in.Version != "3.14d" || in.Release() != "3.14" {
		t.Errorf("Find(3.14d) = %+v, want the sid root's /usr/bin/python3.14d", in)
	}
	// 3.11d is the host's: found or missing there, never in the root.
	in, err = Find("3.11d")
	switch {
	case err == nil && (in.Root != "" || in.Python != "/usr/bin/python3.11d" || !in.Debug):
		t.Errorf("Find(3.11d) = %+v, want the host's /usr/bin/python3.11d", in)
	case err != nil && (!errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "/usr/bin/python3.11d") || strings.Contains(err.Error(), root)):
		t.Errorf("Find(3.11d) = %v, want the host's /usr/bin/python3.11d or ErrMissing for it", err)
	}
	// The release is not the debug build.
	if in, err := Find("3.14"); err == nil || in != nil && in.Debug {
		t.Errorf("Find(3.14) with only python3.14d in the root = %+v, %v, want ErrMissing", in, err)
	}
	for _, bad := range []string{"3.12d", "3.14dd", "d", "3.14-dbg", "3.99"} {
		_, err := Find(bad)
		if err == nil || errors.Is(err, ErrMissing) {
			t.Errorf("Find(%s) = %v, want an unknown version", bad, err)
			continue
		}
		for _, v := range append(slices.Clone(Versions), DebugVersions()...) {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("Find(%s)'s error %q does not name %s", bad, err, v)
			}
		}
	}
	if slices.ContainsFunc(Versions, func(v string) bool { return strings.HasSuffix(v, DebugSuffix) }) {
		t.Errorf("Versions %q holds a debug build: the default run must not", Versions)
	}
	if want := []string{"3.11d", "3.13d", "3.14d", "3.15d"}; !slices.Equal(DebugVersions(), want) {
		t.Errorf("DebugVersions() = %q, want %q", DebugVersions(), want)
	}
}
