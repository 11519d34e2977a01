package realchaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/conform"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// Delays shape the shim's sleeps: uniform in 0..Max, and one call in
// LongEvery sleeps LongFactor × Max.
type Delays struct {
	Max        time.Duration // 0: no delays, markers only
	LongEvery  int
	LongFactor int
}

// DefaultDelays are the long-delay settings the CLI uses.
var DefaultDelays = Delays{LongEvery: 50, LongFactor: 10}

func (d Delays) env(seed uint64) []string {
	return []string{
		"SFZ_SHIM_SEED=" + strconv.FormatUint(seed, 10),
		"SFZ_SHIM_DELAY_US=" + strconv.FormatInt(d.Max.Microseconds(), 10),
		"SFZ_SHIM_LONG_EVERY=" + strconv.Itoa(d.LongEvery),
		"SFZ_SHIM_LONG_FACTOR=" + strconv.Itoa(d.LongFactor),
	}
}

// String describes the delays: "uniform 0..300µs, 1 call in 50 sleeps 3ms".
func (d Delays) String() string {
	if d.Max <= 0 {
		return "no delays"
	}
	s := "uniform 0.." + d.Max.String()
	if d.LongEvery > 0 && d.LongFactor > 1 {
		s += fmt.Sprintf(", 1 call in %d sleeps %s", d.LongEvery, d.Max*time.Duration(d.LongFactor))
	}
	return s
}

// Spec is one run of a command.
type Spec struct {
	Argv    []string // the command; a first word python, python3 or python3.X is the host
	Dir     string   // the working directory on the host (default: the current one)
	Seed    uint64
	Delays  Delays
	Timeout time.Duration
	// WantExit is the exit status of a clean run (default 0).
	WantExit int
	// Env is added to the run's environment (NAME=VALUE each).
	Env []string
}

// BaseEnv is the environment every run starts from, whatever the
// caller's: runs replay alike from any shell (PYTHONUNBUFFERED in a
// user's environment would change what a crash loses from stdout). PATH
// and HOME (the caller's on the host, /root in a root) are added per
// interpreter; Spec.Env adds the rest.
var BaseEnv = []string{"LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}

// Result is one run: what the process left and what the shim recorded.
type Result struct {
	Raw     *conform.Raw
	Markers *Markers
	Obs     conform.Observation
}

// command is how a tool runs a command: the process's argv and environment.
func (t *Tool) command(ctx context.Context, s Spec, table *os.File) (*exec.Cmd, error) {
	dir := s.Dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	argv := t.mapArgv(s.Argv)
	shimEnv := append([]string{"LD_PRELOAD=" + t.Shim(), "SFZ_SHIM_FD=3"}, s.Delays.env(s.Seed)...)
	shimEnv = append(append(shimEnv, BaseEnv...), s.Env...)
	var cmd *exec.Cmd
	if t.In.Root == "" {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = dir
		home := os.Getenv("HOME")
		if home == "" {
			home = "/"
		}
		cmd.Env = append([]string{"PATH=" + t.BinDir() + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + home}, shimEnv...)
	} else {
		inside, mount, err := t.insideDir(dir)
		if err != nil {
			return nil, err
		}
		m := "0"
		if mount {
			m = "1"
		}
		// A mount namespace of the run's own: the bind mount of the
		// working directory vanishes with the run's last process.
		args := []string{"--mount", "--propagation", "private", "--", "sh", "-c", chrootScript, "sh", t.In.Root, dir, m,
			"/usr/bin/env", "-C", inside, "PATH=" + t.BinDir() + ":/usr/local/bin:/usr/bin:/bin", "HOME=/root"}
		args = append(append(args, shimEnv...), argv...)
		cmd = exec.CommandContext(ctx, "unshare", args...)
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cmd.ExtraFiles = []*os.File{table}
	return cmd, nil
}

// chrootScript binds the working directory at its own path in the root
// (when $3 is 1) and runs the rest of its arguments there.
const chrootScript = `set -e
root=$1 dir=$2 mnt=$3
shift 3
if [ "$mnt" = 1 ]; then mount --bind "$dir" "$root$dir"; fi
exec chroot "$root" "$@"`

// insideDir returns the working directory as the chroot sees it, and
// whether it must be bind mounted there (a directory outside the root is
// bound at its own path, on an empty mount point made here).
func (t *Tool) insideDir(dir string) (string, bool, error) {
	root := filepath.Clean(t.In.Root)
	if rel, err := filepath.Rel(root, dir); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return "/" + strings.TrimPrefix(rel, "."), false, nil
	}
	if dir == "/" {
		return "", false, errors.New("the working directory / cannot be bound into the root: run from a project directory")
	}
	mp := filepath.Join(root, dir)
	ents, err := os.ReadDir(mp)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(mp, 0o755); err != nil {
			return "", false, err
		}
	case err != nil:
		return "", false, err
	case len(ents) > 0:
		return "", false, fmt.Errorf("the working directory %s exists in the root %s and is not empty: binding it would hide the root's own files; run from another directory", dir, root)
	}
	return dir, true, nil
}

// mapArgv replaces a first word python, python3 or python3.X (the
// interpreter's own) by the embedding host.
func (t *Tool) mapArgv(argv []string) []string {
	out := append([]string(nil), argv...)
	if len(out) > 0 {
		switch out[0] {
		case "python", "python3", "python" + t.In.Version:
			out[0] = t.Host()
		}
	}
	return out
}

// Run runs the command once under the shim and classifies how it ended.
func (t *Tool) Run(ctx context.Context, s Spec) (*Result, error) {
	if len(s.Argv) == 0 {
		return nil, errors.New("no command")
	}
	table, err := NewTable()
	if err != nil {
		return nil, err
	}
	defer table.Close()
	var cerr error
	raw, err := conform.RunProcess(ctx, s.Timeout, func(ctx context.Context) *exec.Cmd {
		cmd, err := t.command(ctx, s, table)
		if err != nil {
			cerr = err
			return exec.CommandContext(ctx, "true")
		}
		return cmd
	})
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	m, err := ReadTable(table)
	if err != nil {
		return nil, err
	}
	return &Result{Raw: raw, Markers: m, Obs: Classify(raw, m, s.WantExit)}, nil
}

// Classify is the outcome class of one run: conform's observer of how a
// process ended (fatal messages, the watchdog, signals), then the exit
// status, then the shim's markers: a host whose Py_BytesMain never
// returned did not finish finalization (os._exit, an exit from another
// thread), so stdout's buffer and the atexit handlers may be lost. The
// evidence ends with the threads the shim saw inside a wrapped call.
func Classify(raw *conform.Raw, m *Markers, wantExit int) conform.Observation {
	sites := ""
	if m != nil {
		sites = m.Describe()
	}
	with := func(ob conform.Observation) conform.Observation {
		if sites != "" {
			ob.Evidence += "; " + sites
		}
		return ob
	}
	if ob, ok := conform.Ended(raw); ok {
		return with(ob)
	}
	if raw.ExitCode != wantExit {
		return with(conform.Observation{Outcome: runtime.LostCleanup, Kind: "process-exit",
			Evidence: fmt.Sprintf("exit status %d, want %d", raw.ExitCode, wantExit)})
	}
	if m != nil {
		for _, p := range m.Hosts() {
			if !p.Finalized {
				return with(conform.Observation{Outcome: runtime.LostCleanup, Kind: "process-exit",
					Evidence: fmt.Sprintf("python (pid %d) exited before Py_BytesMain returned: finalization did not finish (stdout's buffer and atexit may be lost)", p.PID)})
			}
		}
	}
	return conform.Observation{Outcome: runtime.Clean, Kind: runtime.KindExit, Evidence: fmt.Sprintf("exit status %d after finalization", raw.ExitCode)}
}

// Check runs `true` in dir the way Run runs a command (for a root: a mount
// namespace, the bind mount, chroot), so that a machine where that cannot
// work fails once, with the reason, instead of every run failing.
func (t *Tool) Check(ctx context.Context, dir string) error {
	table, err := NewTable()
	if err != nil {
		return err
	}
	defer table.Close()
	var cerr error
	raw, err := conform.RunProcess(ctx, 30*time.Second, func(ctx context.Context) *exec.Cmd {
		cmd, err := t.command(ctx, Spec{Argv: []string{"true"}, Dir: dir}, table)
		if err != nil {
			cerr = err
			return exec.CommandContext(ctx, "true")
		}
		return cmd
	})
	switch {
	case cerr != nil:
		return cerr
	case err != nil:
		return err
	case raw.TimedOut || raw.ExitCode != 0:
		how := "in a mount namespace under chroot " + t.In.Root
		if t.In.Root == "" {
			how = "on the host"
		}
		return fmt.Errorf("python %s: cannot run commands %s (exit status %d): %s", t.In.Version, how, raw.ExitCode, strings.TrimSpace(raw.Stderr))
	}
	return nil
}
