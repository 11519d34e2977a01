package realchaos

import (
	"fmt"
	"hash/fnv"
	"os"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
)

// Launcher runs conform's unsteered runs under the embedding host and the
// delay shim (conform.Config.Launcher): a witness that steering did not
// reproduce gets a second chance from random delays at the GIL-taking
// calls. Run i of a scenario on a release uses the seed Seed + a hash of
// the two + i, so a rerun of the same conformance check replays the same
// delays.
type Launcher struct {
	Delays Delays
	Seed   uint64
	tools  map[string]*Tool
}

// NewLauncher returns a launcher for the prepared tools (one per
// interpreter conform runs).
func NewLauncher(d Delays, seed uint64, tools []*Tool) *Launcher {
	l := &Launcher{Delays: d, Seed: seed, tools: map[string]*Tool{}}
	for _, t := range tools {
		l.tools[t.In.Version] = t
	}
	return l
}

// Describe names the launcher for conform's reports.
func (l *Launcher) Describe() string {
	return "the embedding host under the delay shim (" + l.Delays.String() + ")"
}

// Launch starts run i of scenario on in: /usr/bin/env sets the shim's
// environment inside the interpreter's root, then runs the host. Done
// reads the markers and returns, as notes, where threads were when the run
// ended.
func (l *Launcher) Launch(in *conform.Interpreter, scenario string, i int) (*conform.Launch, error) {
	t := l.tools[in.Version]
	if t == nil {
		return nil, fmt.Errorf("chaos launcher: python %s was not prepared", in.Version)
	}
	table, err := NewTable()
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", scenario, in.Version)
	seed := l.Seed + h.Sum64() + uint64(i)
	argv := append([]string{"/usr/bin/env", "LD_PRELOAD=" + t.Shim(), "SFZ_SHIM_FD=3"}, l.Delays.env(seed)...)
	argv = append(argv, t.Host())
	return &conform.Launch{Argv: argv, Files: []*os.File{table}, Done: func(*conform.Raw) []string {
		defer table.Close()
		m, err := ReadTable(table)
		if err != nil {
			return []string{"shim: markers unreadable: " + err.Error()}
		}
		var notes []string
		if len(m.Hosts()) == 0 {
			notes = append(notes, "shim: the embedding host never started")
		}
		for _, s := range m.Sites() {
			notes = append(notes, "shim: a thread "+s.Key())
		}
		return notes
	}}, nil
}
