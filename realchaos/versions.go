package realchaos

import (
	"errors"
	"strconv"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Versions are the releases chaos can run, oldest first: every branch of
// scenario.Releases from the host's (conform.HostVersion, 3.11) on, whether
// conformance runs it or not. Which of them are installed is Installed's
// question.
var Versions = chaosVersions()

func chaosVersions() []string {
	var out []string
	host, _ := strconv.Atoi(conform.HostVersion[2:])
	for _, b := range scenario.Releases {
		if b.Minor >= host {
			out = append(out, b.Version())
		}
	}
	return out
}

// Installed returns the interpreters of Versions that are installed
// (conform.Locate finds them), oldest first.
func Installed() ([]*conform.Interpreter, error) {
	var out []*conform.Interpreter
	for _, v := range Versions {
		in, err := conform.Locate(v)
		switch {
		case errors.Is(err, conform.ErrMissing):
		case err != nil:
			return nil, err
		default:
			out = append(out, in)
		}
	}
	return out, nil
}
