// Package shell quotes words for the commands shutdownfuzz prints, so that
// every printed re-run command can be pasted into a POSIX shell as is.
package shell

import "strings"

// Quote returns s as one single-quoted shell word; a single quote inside
// becomes '\”.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
