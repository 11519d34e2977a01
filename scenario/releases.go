package scenario

import (
	"fmt"
	"strings"
)

// Branch is one CPython 3.Y branch that presets name (spec v2, "Presets
// name releases"): cpython-3.Y is its latest patch release, and
// cpython-3.Y.Z any patch release of it.
type Branch struct {
	Minor int // Y

	// Changes are the patch releases of the branch where a fact the model
	// has changes: 3.Y.Z for each Z listed is the first release with the
	// new behaviour, and 3.Y.(Z-1) the last one without. Ascending. The
	// latest patch release modelled is 3.Y.(last Change) and later, whose
	// facts are cpython-3.Y's. These are the boundaries of runtime.Facts'
	// release spans inside the branch (TestBranchChangesAreFactBoundaries
	// in runtime checks it): the table records them here because the fuzz
	// decoder draws a release on either side of each, and scenario is the
	// leaf below runtime.
	Changes []int

	// Conform: real conformance (package conform) has an interpreter of
	// this branch (scripts/conform-env.sh installs it).
	Conform bool
}

// Releases are the CPython branches that presets name, oldest first. Every
// list of releases in the project is derived from this table: the preset
// names the validator accepts (Presets, PresetVersion), the releases the
// fuzz decoder draws (fuzzPresets), the interpreters of conform (Versions),
// and in runtime the boundary columns of `shutdownfuzz presets` and the
// release view of `matrix -versions`.
//
// To add a release (3.15, say):
//
//  1. Append {Minor: 15, Conform: ...} here. The validator then accepts
//     cpython-3.15 and cpython-3.15.Z, and the fuzz decoder draws
//     cpython-3.15 with the next free code (see fuzzPresets: existing codes
//     do not move).
//  2. In runtime.Facts: a span running to the newest release is open
//     (since(14, 0)) and covers 3.15 already. End the span of each fact
//     3.15 no longer has (branches(14, 14)), widen the printed Releases
//     text of those it keeps ("3.14" becomes "3.14+"), and add a row for
//     each new fact, with its Set (a new Preset field if need be), its span
//     and its CPython source. A fact that changes inside a branch also
//     gives that branch a Change here.
//  3. If conformance runs it: Conform: true, and scripts/conform-env.sh
//     installs python3.15 into the sid root (conform finds every release but
//     3.11 there).
//  4. Run go test ./scenario ./runtime ./cmd/shutdownfuzz ./conform:
//     scenario/testdata/decoded.golden shows the one preset byte whose
//     meaning changes (byte 21 becomes cpython-3.15), and
//     cmd/shutdownfuzz/testdata/presets.golden the new column; update both
//     with -update after reading the diff. The tests that spell today's
//     lists out fail on purpose and take the new release by hand: Presets
//     and presetWant (TestReleaseListsDerived, the unknown-preset parse
//     errors, TestPresetVersion's cpython-3.15), goldenFuzzPresetCodes
//     (append), BoundaryPresets and VersionPresets
//     (TestDerivedPresetListsUnchanged: while 3.15 has 3.14's facts the
//     release view shows 3.15 in 3.14's place), conform's Versions.
var Releases = []Branch{
	{Minor: 8},
	{Minor: 9},
	{Minor: 10, Changes: []int{8}},
	{Minor: 11, Changes: []int{1, 6}, Conform: true}, // 3.11.1: gh-96387 (spec v3)
	{Minor: 12, Changes: []int{1, 3}},
	{Minor: 13, Changes: []int{8}, Conform: true},
	{Minor: 14, Conform: true},
	{Minor: 15, Conform: true},
}

// DefaultRelease is the branch a scenario without a preset line models:
// CPython 3.14, latest patch release, on abstract POSIX (spec v1). It is the
// meaning of v1 files and does not move when a newer release is added.
const DefaultRelease = 14

// Facets are the preset names besides releases: the platforms and the
// debug build.
var Facets = []string{"posix", "windows", "glibc", "debug"}

// MaxPatch is the largest patch number a cpython-3.Y.Z preset may give.
const MaxPatch = 999

// BranchOf returns the branch 3.minor of Releases.
func BranchOf(minor int) (Branch, bool) {
	for _, b := range Releases {
		if b.Minor == minor {
			return b, true
		}
	}
	return Branch{}, false
}

// OldestRelease and NewestRelease are the first and last branches of
// Releases.
func OldestRelease() Branch { return Releases[0] }
func NewestRelease() Branch { return Releases[len(Releases)-1] }

// ReleaseName is the preset name of release 3.minor.patch: cpython-3.Y for
// a negative patch (the latest), else cpython-3.Y.Z.
func ReleaseName(minor, patch int) string {
	if patch < 0 {
		return fmt.Sprintf("cpython-3.%d", minor)
	}
	return fmt.Sprintf("cpython-3.%d.%d", minor, patch)
}

// Name is the branch's preset name, cpython-3.Y.
func (b Branch) Name() string { return ReleaseName(b.Minor, -1) }

// Version is the branch as CPython writes it: "3.Y".
func (b Branch) Version() string { return fmt.Sprintf("3.%d", b.Minor) }

// Drawn are the branch's releases the fuzz decoder draws: the latest, then
// for each change the last release before it and the change itself, in
// ascending order, each named once.
func (b Branch) Drawn() []string {
	out := []string{b.Name()}
	last := -1
	for _, c := range b.Changes {
		for _, z := range []int{c - 1, c} {
			if z > last {
				out = append(out, ReleaseName(b.Minor, z))
				last = z
			}
		}
	}
	return out
}

// releasePresets are the branches' names, oldest first.
func releasePresets() []string {
	var out []string
	for _, b := range Releases {
		out = append(out, b.Name())
	}
	return out
}

// presetWantText lists the preset names for error messages.
func presetWantText() string {
	return fmt.Sprintf("%s ... %s, cpython-X.Y.Z (a release of one of those, Z 0..%d), %s or %s",
		OldestRelease().Name(), NewestRelease().Name(), MaxPatch,
		strings.Join(Facets[:len(Facets)-1], ", "), Facets[len(Facets)-1])
}
