package scenario

import (
	"slices"
	"testing"
)

// The lists derived from Releases are the ones written out by hand before
// the table existed.
func TestReleaseListsDerived(t *testing.T) {
	wantPresets := []string{
		"cpython-3.8", "cpython-3.9", "cpython-3.10", "cpython-3.11", "cpython-3.12",
		"cpython-3.13", "cpython-3.14", "cpython-3.15", "posix", "windows", "glibc", "debug",
	}
	if !slices.Equal(Presets, wantPresets) {
		t.Errorf("Presets = %q, want %q", Presets, wantPresets)
	}
	const want = "cpython-3.8 ... cpython-3.15, cpython-X.Y.Z (a release of one of those, Z 0..999), posix, windows, glibc or debug"
	if presetWant != want {
		t.Errorf("presetWant = %q, want %q", presetWant, want)
	}
	if _, ok := BranchOf(DefaultRelease); !ok {
		t.Errorf("DefaultRelease 3.%d is not in Releases", DefaultRelease)
	}
	for i, b := range Releases {
		if i > 0 && b.Minor <= Releases[i-1].Minor {
			t.Errorf("Releases: 3.%d after 3.%d (oldest first, each once)", b.Minor, Releases[i-1].Minor)
		}
		if !slices.IsSorted(b.Changes) || slices.Contains(b.Changes, 0) {
			t.Errorf("3.%d: changes %v must ascend, each a patch release after .0", b.Minor, b.Changes)
		}
	}
}

// goldenFuzzPresetCodes are the decoder's preset codes as they were when
// the decoder drew fuzzPresets[b%21]. fuzzPresets must begin with them, in
// this order, for ever: stored fuzz inputs hold the codes. A new release
// appends; when one is added, append it here too.
var goldenFuzzPresetCodes = []string{
	"cpython-3.8", "cpython-3.9", "cpython-3.10", "cpython-3.10.7", "cpython-3.10.8",
	"cpython-3.11", "cpython-3.11.5", "cpython-3.11.6", "cpython-3.12", "cpython-3.12.0",
	"cpython-3.12.1", "cpython-3.12.2", "cpython-3.12.3", "cpython-3.13", "cpython-3.13.7",
	"cpython-3.13.8", "cpython-3.14", "posix", "windows", "glibc", "debug",
	"cpython-3.15", "cpython-3.11.0", "cpython-3.11.1",
}

func TestFuzzPresetCodesStable(t *testing.T) {
	if len(fuzzPresets) < len(goldenFuzzPresetCodes) || !slices.Equal(fuzzPresets[:len(goldenFuzzPresetCodes)], goldenFuzzPresetCodes) {
		t.Fatalf("fuzzPresets = %q; its codes must begin with %q (appending is the only change allowed)", fuzzPresets, goldenFuzzPresetCodes)
	}
	if len(fuzzPresetCodes) < fuzzPresetAliases {
		t.Fatalf("fuzzPresetCodes lost entries: %d, the aliases need %d", len(fuzzPresetCodes), fuzzPresetAliases)
	}
	// The first 21 fixed codes are what the table drew for 3.8..3.14
	// before 3.11.1 became a change (3.11's Drawn without 3.11.0 and
	// 3.11.1), then the facets, in order; every release the table draws
	// has a code, once.
	var drawn []string
	for _, b := range Releases {
		if b.Minor <= 14 {
			for _, n := range b.Drawn() {
				if n != "cpython-3.11.0" && n != "cpython-3.11.1" {
					drawn = append(drawn, n)
				}
			}
		}
	}
	if want := append(drawn, Facets...); !slices.Equal(fuzzPresetCodes[:fuzzPresetAliases], want) {
		t.Errorf("fixed codes %q, want the table's %q", fuzzPresetCodes, want)
	}
	seen := map[string]bool{}
	for _, p := range fuzzPresets {
		if seen[p] {
			t.Errorf("fuzz preset %s has two codes", p)
		}
		seen[p] = true
	}
	for _, b := range Releases {
		for _, n := range b.Drawn() {
			if !seen[n] {
				t.Errorf("release %s has no fuzz preset code", n)
			}
		}
	}
	// Byte b decodes as it did when the decoder drew b%21, up to the codes
	// added since (none yet: the byte at the code of each changes meaning).
	for b := range 256 {
		want := goldenFuzzPresetCodes[b%21]
		if b >= 21 && b < len(fuzzPresets) {
			want = fuzzPresets[b]
		}
		if got := fuzzPreset(byte(b)); got != want {
			t.Errorf("preset byte %d = %s, want %s", b, got, want)
		}
	}
}

// Appending a branch to Releases appends its releases to the decoder's
// codes and changes the meaning of that one byte, an alias until then.
func TestFuzzPresetsAppendNewRelease(t *testing.T) {
	saved, savedPresets := Releases, fuzzPresets
	defer func() { Releases, fuzzPresets = saved, savedPresets }()
	before := make([]string, 256)
	for b := range 256 {
		before[b] = fuzzPreset(byte(b))
	}
	next := NewestRelease().Minor + 1
	Releases = append(slices.Clone(saved), Branch{Minor: next, Changes: []int{2}})
	fuzzPresets = appendDrawn(fuzzPresetCodes[:])
	added := []string{ReleaseName(next, -1), ReleaseName(next, 1), ReleaseName(next, 2)}
	if want := append(slices.Clone(savedPresets), added...); !slices.Equal(fuzzPresets, want) {
		t.Fatalf("with 3.15: fuzzPresets = %q, want %q", fuzzPresets, want)
	}
	for b := range 256 {
		got := fuzzPreset(byte(b))
		if i := b - len(savedPresets); i >= 0 && i < len(added) {
			if got != added[i] {
				t.Errorf("byte %d = %s, want the new code's %s", b, got, added[i])
			}
		} else if got != before[b] {
			t.Errorf("byte %d = %s, was %s: adding a release moved it", b, got, before[b])
		}
	}
}
