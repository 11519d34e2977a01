// Command shutdownfuzz runs, explores and reports on shutdown-race
// scenarios under the five thread-exit policies.
//
//	shutdownfuzz run      [-policy P|all] [-preset NAMES] [-seed N | -schedule S] [-json] [-trace] [-mode M] FILE.scn
//	shutdownfuzz explore  [-policy P|all] [-preset NAMES] [-runs N] [-json] [-mode M] FILE.scn
//	shutdownfuzz list
//	shutdownfuzz presets  [PRESET...]
//	shutdownfuzz matrix   [-runs N] [-policy all|P] [-versions[=LIST]] [-out DIR] [-mode M] [DIR|FILES...]
//	shutdownfuzz minimize [-policy P] [-corpus DIR] FILE.scn|FUZZ-INPUT
//	shutdownfuzz import   [-corpus DIR] [-seeds DIR] [-libfuzzer] [-strict] DIR|FILE
//	shutdownfuzz campaign [-duration D] [-policy all|P] [-mode M] [-shard i/n] [-out DIR]
//	shutdownfuzz bench    [-seeds N] [-filter RE] [-json] [FILES...]
//	shutdownfuzz export   -o DIR [-python VERSION] [-force] FILE.scn
//	shutdownfuzz conform  [-python 3.11,3.13,3.14,3.15] [-runs N] [-json|-markdown] [-shim] [FILES...]
//	shutdownfuzz chaos    [-python 3.11,3.13,3.14,3.15] [-runs N] [-delay 300us] [-seed S] [-timeout D] [-json|-markdown] [-shard i/n] -- COMMAND ARGS...
//
// M is controlled (the deterministic scheduler, the default) or wild (Go's
// scheduler with injected timing, go-deadlock and goleak).
//
// FILE may also name a built-in library scenario ("hang-holds-lock"); run
// "shutdownfuzz list" to see them. Exit status: 0 when every outcome is
// allowed by the file's expect lines (or it has none for the policy), 1
// when one is not, 2 for a usage or parse error, 3 for a broken invariant
// of the model itself (a bug in shutdownfuzz: the message gives the command
// that reproduces it).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/realchaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// exitError carries an exit status out of a subcommand.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

type command struct {
	name, args, help string
	run              func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "[-policy P|all] [-preset NAMES] [-seed N | -schedule S] [-json] [-trace] [-mode controlled|wild] [-v] FILE.scn", "run a scenario once per policy", cmdRun},
		{"explore", "[-policy P|all] [-preset NAMES] [-runs N] [-json] [-mode controlled|wild] [-exact] FILE.scn", "sample schedules and report each policy's outcome set", cmdExplore},
		{"list", "", "list the built-in scenario library", cmdList},
		{"presets", "[PRESET...]", "print the release presets and every CPython fact behind them, or describe one preset", cmdPresets},
		{"matrix", matrixArgs, "explore scenarios × policies; print the outcome matrix, write report.json and report.html", cmdMatrix},
		{"minimize", "[-policy P] [-corpus DIR] [-found TEXT] [-strict] FILE.scn|FUZZ-INPUT", "minimize a failing run into a corpus .scn file", cmdMinimize},
		{"import", "[-corpus DIR] [-seeds DIR] [-libfuzzer] [-strict] DIR|FILE", "import go test fuzz v1, raw go-fuzz or libFuzzer inputs: seeds, and minimized crashers for contract breaks", cmdImport},
		{"campaign", campaignArgs, "explore for a long time (nightly CI): resumable, sharded; minimized crashers, state.json and summary.json in -out", cmdCampaign},
		{"export", exportArgs, "write a scenario as a real program: C++ extension, Python driver, build script", cmdExport},
		{"conform", conformArgs, "run scenarios on real CPython " + strings.Join(conform.Versions, "/") + " and compare with the model's predictions", cmdConform},
		{"chaos", chaosArgs, "run a command on real CPython " + strings.Join(realchaos.Versions, "/") + " under random delays at every GIL-taking call (LD_PRELOAD shim); outcome counts with and without delays, witness rates, replay commands", cmdChaos},
		{"bench", benchArgs, "time to first witness of each expected failure: controlled PCT and random vs the wild random-sleep baseline", cmdBench},
	}
}

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(args[1:], stdout, stderr)
			var ee *exitError
			switch {
			case err == nil:
				return 0
			case errors.Is(err, runtime.ErrInternal):
				// A broken invariant of the model: its message holds the
				// command that reproduces it, never a Go stack.
				fmt.Fprintln(stderr, "shutdownfuzz "+c.name+": "+err.Error())
				return 3
			case errors.As(err, &ee):
				if ee.msg != "" {
					fmt.Fprintln(stderr, "shutdownfuzz "+c.name+": "+ee.msg)
					if ee.code == 2 {
						fmt.Fprintf(stderr, "usage: shutdownfuzz %s %s\n", c.name, c.args)
					}
				}
				return ee.code
			default:
				fmt.Fprintln(stderr, "shutdownfuzz "+c.name+": "+err.Error())
				return 2
			}
		}
	}
	fmt.Fprintf(stderr, "shutdownfuzz: unknown command %q\n", args[0])
	printUsage(stderr)
	return 2
}

// runError is the error of a run, an exploration or a matrix that failed:
// a broken invariant of the model (exit status 3, with the command that
// reproduces it on file), or else a usage error (an unknown policy or
// preset).
func runError(err error, file string) error {
	if errors.Is(err, runtime.ErrInternal) {
		return runtime.WithFile(err, file)
	}
	return usageError("%v", err)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: shutdownfuzz COMMAND [flags] [args]")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n            %s\n", c.name, strings.TrimSpace(c.args), c.help)
	}
}
