package runtime

import (
	"reflect"
	"slices"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The derived lists are the ones written out by hand before Facts had
// spans: deriving them changed nothing. Spec v3 added 3.11.0 (the last
// release before gh-96387's reset, which 3.11.1 brought).
func TestDerivedPresetListsUnchanged(t *testing.T) {
	wantBoundary := []string{
		"cpython-3.8", "cpython-3.9", "cpython-3.10.7", "cpython-3.10", "cpython-3.11.0",
		"cpython-3.11.5", "cpython-3.11", "cpython-3.12.0", "cpython-3.12.2", "cpython-3.12",
		"cpython-3.13.7", "cpython-3.13", "cpython-3.14", "cpython-3.15",
	}
	if !slices.Equal(BoundaryPresets, wantBoundary) {
		t.Errorf("BoundaryPresets = %q, want %q", BoundaryPresets, wantBoundary)
	}
	wantVersions := []string{
		"cpython-3.8", "cpython-3.10.7", "cpython-3.10", "cpython-3.11.0", "cpython-3.11",
		"cpython-3.12", "cpython-3.13.7", "cpython-3.13", "cpython-3.14", "cpython-3.15",
	}
	if !slices.Equal(VersionPresets, wantVersions) {
		t.Errorf("VersionPresets = %q, want %q", VersionPresets, wantVersions)
	}
}

// scenario.Releases records, for the fuzz decoder, the patch releases where
// a fact changes inside a branch: they are exactly the boundaries of Facts'
// spans, and no fact changes inside a branch the table lacks.
func TestBranchChangesAreFactBoundaries(t *testing.T) {
	changes := factChanges(func(Fact) bool { return true })
	for _, b := range scenario.Releases {
		if got := changes[b.Minor]; !slices.Equal(got, b.Changes) {
			t.Errorf("3.%d: facts change at patches %v, scenario.Releases says %v", b.Minor, got, b.Changes)
		}
		delete(changes, b.Minor)
	}
	for minor, c := range changes {
		if _, ok := scenario.BranchOf(minor); !ok {
			t.Errorf("facts change inside 3.%d at %v, a branch scenario.Releases lacks", minor, c)
		}
	}
}

// testReleases are, for each branch, every patch release up to two past its
// last change, and its latest.
func testReleases() []Release {
	var out []Release
	for _, b := range scenario.Releases {
		last := 0
		if len(b.Changes) > 0 {
			last = b.Changes[len(b.Changes)-1]
		}
		for z := 0; z <= last+2; z++ {
			out = append(out, Release{b.Minor, z})
		}
		out = append(out, Release{b.Minor, Latest})
	}
	return out
}

// factFields returns the fields of Preset that f's Set writes, found by
// applying it to a preset whose fields all differ from what a fact sets.
func factFields(f Fact) []string {
	sentinel := Preset{Join: JoinRule(255), DefaultPolicy: "?"}
	p := sentinel
	f.Set(&p)
	var out []string
	a, b := reflect.ValueOf(sentinel), reflect.ValueOf(p)
	for i := range a.NumField() {
		if a.Field(i).Interface() != b.Field(i).Interface() {
			out = append(out, a.Type().Field(i).Name)
		}
	}
	return out
}

// Every fact field of Preset is set by the table, and for every release
// and platform each field is written by at most one fact that holds, and
// Join and DefaultPolicy (which have no "not set") by exactly one: the
// order of the rows does not matter.
func TestFactsSetEveryFieldOnce(t *testing.T) {
	writers := map[string][]int{}
	for i, f := range Facts {
		if f.Set == nil {
			continue
		}
		fields := factFields(f)
		if len(fields) != 1 {
			t.Errorf("fact %d (%s) sets %v, want one field", i+1, f.What, fields)
		}
		for _, n := range fields {
			writers[n] = append(writers[n], i)
		}
	}
	typ := reflect.TypeFor[Preset]()
	for i := range typ.NumField() {
		switch n := typ.Field(i).Name; n {
		case "Name", "Release", "Version", "Platform":
		default:
			if len(writers[n]) == 0 {
				t.Errorf("no fact sets Preset.%s", n)
			}
		}
	}
	for _, r := range testReleases() {
		for _, platform := range []string{"posix", "glibc", "windows"} {
			for _, debug := range []bool{false, true} {
				p := Preset{Release: r, Platform: platform, Debug: debug}
				for field, rows := range writers {
					n := 0
					for _, i := range rows {
						if Facts[i].In(p) {
							n++
						}
					}
					if n > 1 || n == 0 && (field == "Join" || field == "DefaultPolicy") {
						t.Errorf("%s %s debug=%v: %d facts set %s", r, platform, debug, n, field)
					}
				}
			}
		}
	}
}

// LookupPreset applies the facts: a preset's fields say yes exactly for the
// facts it has.
func TestLookupPresetAppliesFacts(t *testing.T) {
	for _, r := range testReleases() {
		for _, facets := range [][]string{nil, {"posix"}, {"windows"}, {"debug"}} {
			names := append([]string{scenario.ReleaseName(r.Minor, r.Patch)}, facets...)
			p, err := LookupPreset(names)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range Facts {
				if f.Set == nil {
					continue
				}
				q := p
				f.Set(&q)
				if f.In(p) != (q == p) {
					t.Errorf("%v: fact %d (%s) in=%v, but the preset's fields say %v", names, i+1, f.What, f.In(p), q == p)
				}
			}
		}
	}
}

func TestSpanOrder(t *testing.T) {
	for _, c := range []struct {
		s    Span
		r    Release
		want bool
	}{
		{since(10, 8), Release{10, 7}, false},
		{since(10, 8), Release{10, 8}, true},
		{since(10, 8), Release{10, Latest}, true},
		{since(10, 8), Release{99, 0}, true},
		{through(13, 7), Release{13, 7}, true},
		{through(13, 7), Release{13, 8}, false},
		{through(13, 7), Release{13, Latest}, false},
		{through(11, Latest), Release{11, Latest}, true},
		{through(11, Latest), Release{12, 0}, false},
		{patches(12, 0, 2), Release{12, Latest}, false},
		{branches(9, 12), Release{8, Latest}, false},
		{branches(9, 12), Release{12, Latest}, true},
	} {
		if got := c.s.Has(c.r); got != c.want {
			t.Errorf("%v has %s = %v, want %v", c.s, c.r, got, c.want)
		}
	}
}
