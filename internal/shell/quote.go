// Package shell quotes words for the commands shutdownfuzz prints, so that
// every printed re-run command can be pasted into a POSIX shell as is.
package shell

import "strings"

// Quote returns s as one single-quoted shell word; a single quote inside
// becomes '\”.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// RunCommand is the complete command that replays a run: shutdownfuzz run
// under policy with schedule, a schedule line with or without its leading
// word ("replay 0 1 2*40"), on file; preset, when not empty, replaces the
// file's preset line (-preset). All are quoted, so that the command pastes
// into a shell as is.
func RunCommand(policy, schedule, file, preset string) string {
	cmd := "shutdownfuzz run "
	if preset != "" {
		cmd += "-preset " + Quote(preset) + " "
	}
	return cmd + "-policy " + policy + " -schedule " + Quote(strings.TrimPrefix(schedule, "schedule ")) + " " + Quote(file)
}

// Word returns s as it may stand in a command line: as is when it holds
// only characters no shell treats specially, else Quote(s).
func Word(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return Quote(s)
}
