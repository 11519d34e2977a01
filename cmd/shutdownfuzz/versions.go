package main

import (
	"os"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/grid"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// versionsFlag is matrix's -versions: given alone it asks for the release
// view over runtime.VersionPresets; -versions=LIST names the releases.
type versionsFlag struct {
	set  bool
	list string
}

func (v *versionsFlag) String() string {
	if v == nil || !v.set {
		return ""
	}
	return v.list
}

func (v *versionsFlag) Set(s string) error {
	v.set = true
	if s == "true" {
		s = ""
	}
	v.list = s
	_, err := grid.ParseReleases(s)
	return err
}

func (v *versionsFlag) IsBoolFlag() bool { return true }

// releaseListArg takes a release list given after a bare -versions as the
// first positional argument ("-versions 3.12,3.14"): a word that parses as
// a release list and names no file.
func (v *versionsFlag) releaseListArg(pos []string) []string {
	if !v.set || v.list != "" || len(pos) == 0 {
		return pos
	}
	if _, err := os.Stat(pos[0]); err == nil {
		return pos
	}
	if _, err := grid.ParseReleases(pos[0]); err != nil {
		return pos
	}
	v.list = pos[0]
	return pos[1:]
}

// presetFlag applies run's and explore's -preset: it replaces the
// scenario's preset line (for example with a release of the version
// matrix) before the policy is resolved.
func presetFlag(s *scenario.Scenario, value string) error {
	if value == "" {
		return nil
	}
	names := strings.Fields(value)
	if _, err := runtime.LookupPreset(names); err != nil {
		return usageError("-preset: %v", err)
	}
	s.Presets = names
	return nil
}
