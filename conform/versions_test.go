package conform

import (
	"errors"
	"os"
	"slices"
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
