package conform

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

//go:embed templates/sfz_rt.h
var runtimeHeader string

// Versions are the CPython releases conformance knows how to run, oldest
// first: the branches of scenario.Releases marked Conform ("3.11", "3.13",
// "3.14").
var Versions = conformVersions()

func conformVersions() []string {
	var out []string
	for _, b := range scenario.Releases {
		if b.Conform {
			out = append(out, b.Version())
		}
	}
	return out
}

// DebugSuffix marks a release's debug build in a version ("3.14d"): Debian's
// python3.Yd, built --with-pydebug, whose python3.Yd-config gives the debug
// headers (Py_DEBUG) and extension suffix. Conformance runs it with -python
// 3.Yd and predicts it with the release's preset plus the debug facet.
const DebugSuffix = "d"

// DebugVersions are Versions' debug builds ("3.11d", ...): valid for
// -python, Find and Export, but not run unless asked for.
func DebugVersions() []string {
	var out []string
	for _, v := range Versions {
		out = append(out, v+DebugSuffix)
	}
	return out
}

// SplitVersion splits a version into its release and whether it names the
// release's debug build: "3.14d" is ("3.14", true), "3.14" ("3.14", false).
func SplitVersion(version string) (release string, debug bool) {
	if r, ok := strings.CutSuffix(version, DebugSuffix); ok {
		return r, true
	}
	return version, false
}

// ValidVersion reports whether version is one of Versions or DebugVersions.
func ValidVersion(version string) bool {
	r, _ := SplitVersion(version)
	return slices.Contains(Versions, r)
}

// DefaultVersion is the interpreter an exported program targets unless told
// otherwise: the release the model runs a scenario without a preset line
// under (scenario.DefaultRelease, 3.14).
var DefaultVersion = fmt.Sprintf("3.%d", scenario.DefaultRelease)

// Options shape an exported program.
type Options struct {
	Version string       // one of Versions or DebugVersions: the build script's default interpreter; "" is DefaultVersion
	Steer   []SteerPoint // the witness's context switches, turned into synchronisation
}

// Program is an exported scenario: file name to contents.
type Program struct {
	Scenario string
	Files    map[string]string
	// ExitCode is the exit status main asks for (its first `exit N`).
	ExitCode int
	// Prints are the texts of main's, atexit's and teardown's prints, by
	// the id their "printed ID" marker names: stdout must hold each line
	// at least as often as its markers say it was printed.
	Prints []string
}

// Names returns the program's file names, sorted.
func (p *Program) Names() []string {
	var out []string
	for n := range p.Files {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// NotExportable says why a scenario has no real counterpart (on Version,
// when only some releases lack it).
type NotExportable struct {
	Scenario, Reason string
	Version          string // "" when no release has a counterpart
}

func (e *NotExportable) Error() string {
	if e.Version != "" {
		return fmt.Sprintf("scenario %q cannot be exported for python %s: %s", e.Scenario, e.Version, e.Reason)
	}
	return fmt.Sprintf("scenario %q cannot be exported: %s", e.Scenario, e.Reason)
}

// Exportable returns nil, or why s cannot run as a real program here.
func Exportable(s *scenario.Scenario) *NotExportable {
	if s.Callback != "" {
		return &NotExportable{Scenario: s.Name, Reason: "it sets an exit callback (`callback " + s.Callback + "`): Py_SetThreadExitCallback is a proposal (bpo-42969) that no CPython release has"}
	}
	if slices.Contains(s.Presets, "windows") {
		return &NotExportable{Scenario: s.Name, Reason: "its preset is windows (_endthreadex): conformance runs on Linux with glibc"}
	}
	var unknown string
	for _, body := range s.Bodies() {
		scenario.Walk(body, func(st *scenario.Stmt) {
			if !supported[st.Op] && unknown == "" {
				unknown = fmt.Sprintf("statement `%s` at line %d has no real counterpart in export yet", st.Op, st.Pos.Line)
			}
		})
	}
	if unknown != "" {
		return &NotExportable{Scenario: s.Name, Reason: unknown}
	}
	return nil
}

// supported are the statements the emitter maps to real code; a statement
// added to the language later is refused until it has a mapping.
var supported = map[scenario.Op]bool{
	scenario.OpSpawn: true, scenario.OpJoin: true, scenario.OpWork: true, scenario.OpIO: true,
	scenario.OpPrint: true, scenario.OpAcquire: true, scenario.OpRelease: true, scenario.OpEnsure: true,
	scenario.OpUnensure: true, scenario.OpNew: true, scenario.OpLocal: true, scenario.OpPublish: true,
	scenario.OpIncref: true, scenario.OpDecref: true, scenario.OpUse: true, scenario.OpGuard: true,
	scenario.OpLock: true, scenario.OpUnlock: true, scenario.OpSet: true, scenario.OpWait: true,
	scenario.OpNative: true, scenario.OpHold: true, scenario.OpCleanup: true, scenario.OpLoop: true,
	scenario.OpForever: true, scenario.OpYield: true, scenario.OpExit: true,
	scenario.OpUntil: true, scenario.OpIf: true,
	// PEP 788's interpreter guards (CPython 3.15 only: ExportableOn).
	scenario.OpInterpGuard: true, scenario.OpInterpGuardBlock: true, scenario.OpClose: true,
	scenario.OpEnsureGuard: true, scenario.OpEnsureView: true, scenario.OpIfGuarded: true,
}

// ExportableOn is Exportable for a program that runs on CPython version
// ("3.14"): besides Exportable's reasons, a statement of a later release
// (PEP 788's guards, 3.15) has no C API to map to on an earlier one.
func ExportableOn(s *scenario.Scenario, version string) *NotExportable {
	if ne := Exportable(s); ne != nil {
		return ne
	}
	minor, ok := versionMinor(version)
	if !ok {
		return nil // Export refuses an unknown version itself
	}
	var why string
	for _, body := range s.Bodies() {
		scenario.Walk(body, func(st *scenario.Stmt) {
			syn, _ := scenario.SyntaxOf(st.Op)
			if why == "" && syn.MinMinor > minor {
				what := st.Op.String()
				if syn.Word != "" {
					what += " " + syn.Word
				}
				why = fmt.Sprintf("statement `%s` at line %d needs CPython 3.%d's C API (PEP 788's interpreter guards): export it with -python 3.%d",
					what, st.Pos.Line, syn.MinMinor, syn.MinMinor)
			}
		})
	}
	if why != "" {
		return &NotExportable{Scenario: s.Name, Reason: why, Version: version}
	}
	return nil
}

// versionMinor returns Y of a version "3.Y" (or of its debug build "3.Yd").
func versionMinor(version string) (int, bool) {
	version, _ = SplitVersion(version)
	major, minor, ok := strings.Cut(version, ".")
	y, err := strconv.Atoi(minor)
	return y, ok && major == "3" && err == nil
}

// Export turns s into a C++ extension, a Python driver and a build script.
func Export(s *scenario.Scenario, opts Options) (*Program, error) {
	if opts.Version == "" {
		opts.Version = DefaultVersion
	}
	if !ValidVersion(opts.Version) {
		return nil, unknownVersion(opts.Version)
	}
	if ne := ExportableOn(s, opts.Version); ne != nil {
		return nil, ne
	}
	if len(opts.Steer) > maxSteer {
		opts.Steer = opts.Steer[:maxSteer]
	}
	e := newEmitter(s, opts.Steer)
	p := &Program{Scenario: s.Name, Files: map[string]string{}, ExitCode: exitCode(s)}
	p.Files["sfz_rt.h"] = runtimeHeader
	p.Files["sfz_scenario.cpp"] = e.cpp()
	p.Prints = e.prints
	p.Files["driver.py"] = e.driver()
	p.Files["sfz_helpers.py"] = helpers
	p.Files["build.sh"] = buildScript(s, opts.Version)
	return p, nil
}

// maxSteer matches MaxSteer in sfz_rt.h.
const maxSteer = 16

// exitCode is the status main's first `exit N` asks for (0 without one).
func exitCode(s *scenario.Scenario) int {
	code, found := 0, false
	scenario.Walk(s.Threads[0].Body, func(st *scenario.Stmt) {
		if st.Op == scenario.OpExit && !found {
			code, found = st.N, true
		}
	})
	return code
}

func buildScript(s *scenario.Scenario, version string) string {
	return fmt.Sprintf(`#!/bin/sh
# Generated by shutdownfuzz export from scenario %q. Builds the extension
# module next to this script for $PYTHON (default python%s), then run
# "$PYTHON driver.py". SFZ_STEER=0 runs without steering.
set -eu
cd "$(dirname "$0")"
PY="${PYTHON:-python%s}"
g++ -std=c++17 -O1 -g -fPIC -shared -pthread $("$PY-config" --includes) \
	sfz_scenario.cpp -o "sfz_scenario$("$PY-config" --extension-suffix)"
`, s.Name, version, version)
}

// cString quotes text as a C string literal.
func cString(text string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range []byte(text) {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(r)
		case r < 0x20 || r >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Write puts the program's files into dir (created if missing). Without
// overwrite, an existing file of the same name is an error: nothing a user
// wrote is replaced silently.
func (p *Program) Write(dir string, overwrite bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !overwrite {
		for _, n := range p.Names() {
			if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
				return fmt.Errorf("%s exists (use -force to overwrite)", filepath.Join(dir, n))
			}
		}
	}
	for _, n := range p.Names() {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(p.Files[n]), mode); err != nil {
			return err
		}
	}
	return nil
}
