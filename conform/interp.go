package conform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// DefaultRoot is where scripts/conform-env.sh builds the Debian sid root
// that holds every conformance release but the host's (3.13 and 3.14);
// SFZ_CONFORM_ROOT overrides it.
const DefaultRoot = "/var/cache/shutdownfuzz/sid"

// HostVersion is the one conformance release the host itself provides:
// Debian bookworm's python3.11, installed by scripts/conform-env.sh.
const HostVersion = "3.11"

// Interpreter is one real CPython: on the host (Root "") or inside a
// chroot (Root is its directory).
type Interpreter struct {
	Version string // "3.11", or "3.11d" for the release's debug build
	Root    string // "" for the host
	Python  string // the interpreter's path inside Root (or on the host)
	// Debug marks a debug build (--with-pydebug, Debian's python3.Xd):
	// Version ends in DebugSuffix, and the model predicts it with the
	// release's preset plus the debug facet.
	Debug bool
}

// Release is the interpreter's release without the debug suffix ("3.11").
func (in *Interpreter) Release() string {
	r, _ := SplitVersion(in.Version)
	return r
}

// ErrMissing marks an interpreter that is not installed.
var ErrMissing = errors.New("interpreter not installed")

// Find locates the interpreter for version, one of Versions or one of
// them with DebugSuffix (DebugVersions): HostVersion is the host's Debian
// /usr/bin/python3.11 (not a pyenv shim on PATH), and every other release
// is /usr/bin/python3.Y in the sid root; "3.Yd" is the same place's debug
// build /usr/bin/python3.Yd (with its python3.Yd-config).
func Find(version string) (*Interpreter, error) {
	if !ValidVersion(version) {
		return nil, unknownVersion(version)
	}
	return Locate(version)
}

// unknownVersion is the error for a version conformance does not run,
// naming the valid ones.
func unknownVersion(version string) error {
	return fmt.Errorf("unknown python version %q (want one of %s, or a debug build %s)",
		version, strings.Join(Versions, ", "), strings.Join(DebugVersions(), ", "))
}

// Locate finds the interpreter of any release of scenario.Releases, where
// Find would: HostVersion on the host, the others in the sid root, whether
// conformance runs that release or not (package realchaos runs every
// installed one). A release that is not installed is ErrMissing. A version
// with DebugSuffix ("3.14d") is that release's debug build, in the same
// place.
func Locate(version string) (*Interpreter, error) {
	root := os.Getenv("SFZ_CONFORM_ROOT")
	if root == "" {
		root = DefaultRoot
	}
	release, debug := SplitVersion(version)
	known := false
	for _, b := range scenario.Releases {
		known = known || b.Version() == release
	}
	var in *Interpreter
	switch {
	case !known:
		return nil, fmt.Errorf("unknown python version %q", version)
	case release == HostVersion:
		in = &Interpreter{Version: version, Python: "/usr/bin/python" + version, Debug: debug}
	default:
		in = &Interpreter{Version: version, Root: root, Python: "/usr/bin/python" + version, Debug: debug}
		if _, err := os.Stat(filepath.Join(root, ".sfz-complete")); err != nil {
			return nil, fmt.Errorf("python %s: %w: no finished sid root at %s (run `make conform-env`)", version, ErrMissing, root)
		}
	}
	for _, p := range []string{in.Python, in.Python + "-config", "/usr/bin/g++"} {
		if _, err := os.Stat(filepath.Join(in.Root, p)); err != nil {
			return nil, fmt.Errorf("python %s: %w: %s is missing (run `make conform-env`)", version, ErrMissing, filepath.Join(in.Root, p))
		}
	}
	return in, nil
}

// WorkDir makes a fresh directory the interpreter can see, and returns its
// host path and its path as the interpreter sees it.
func (in *Interpreter) WorkDir() (host, inside string, err error) {
	base := os.TempDir()
	if in.Root != "" {
		base = filepath.Join(in.Root, "tmp")
	}
	host, err = os.MkdirTemp(base, "sfz-conform-")
	if err != nil {
		return "", "", err
	}
	inside = host
	if in.Root != "" {
		inside = "/" + strings.TrimPrefix(strings.TrimPrefix(host, in.Root), "/")
	}
	return host, inside, nil
}

// command builds argv to run inside the interpreter's root.
func (in *Interpreter) command(ctx context.Context, env []string, argv ...string) *exec.Cmd {
	if in.Root != "" {
		argv = append([]string{"chroot", in.Root}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}, env...)
	watch(cmd)
	return cmd
}

// watch puts cmd in its own process group, which the watchdog (the
// cancelled context of exec.CommandContext) kills as a whole.
func watch(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
}

// Build compiles the program in dir (as the interpreter sees it).
func (in *Interpreter) Build(ctx context.Context, inside string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := in.command(ctx, []string{"PYTHON=" + in.Python}, "sh", inside+"/build.sh")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build for python %s failed: %v\n%s", in.Version, err, out)
	}
	return nil
}

// Raw is what one real run left behind.
type Raw struct {
	ExitCode int    `json:"exit_code"` // -1 when killed by a signal
	Signal   string `json:"signal,omitempty"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Stdout   string `json:"-"`
	Stderr   string `json:"-"`
	Elapsed  time.Duration
}

// RunOptions bound one real run.
type RunOptions struct {
	Timeout time.Duration // the watchdog: a run still alive then is a deadlock
	Steer   bool
	PauseUS int // the Py_AtExit pause
	// Launch, when set, starts the interpreter another way (package
	// realchaos: its embedding host under the delay shim).
	Launch *Launch
}

// Run runs the driver once under a watchdog.
func (in *Interpreter) Run(ctx context.Context, inside string, o RunOptions) (*Raw, error) {
	steer := "0"
	if o.Steer {
		steer = "1"
	}
	env := []string{"SFZ_STEER=" + steer, fmt.Sprintf("SFZ_PAUSE_US=%d", o.PauseUS)}
	argv := []string{in.Python}
	var files []*os.File
	if o.Launch != nil {
		argv, files = o.Launch.Argv, o.Launch.Files
	}
	return RunProcess(ctx, o.Timeout, func(ctx context.Context) *exec.Cmd {
		cmd := in.command(ctx, env, append(slices.Clone(argv), inside+"/driver.py")...)
		cmd.ExtraFiles = files
		return cmd
	})
}

// RunProcess runs the command newCmd builds (with the context it is given,
// which the watchdog cancels after timeout) and records how it ended: a
// process still alive at the timeout is killed with its process group and
// marked TimedOut. Commands that newCmd builds outside this package are
// put in their own process group here.
func RunProcess(ctx context.Context, timeout time.Duration, newCmd func(ctx context.Context) *exec.Cmd) (*Raw, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := newCmd(ctx)
	if cmd.SysProcAttr == nil {
		watch(cmd)
	}
	var stdout, stderr bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	start := time.Now()
	err := cmd.Run()
	raw := &Raw{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	if ctx.Err() == context.DeadlineExceeded {
		raw.TimedOut, raw.ExitCode = true, -1
		return raw, nil
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		raw.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			raw.Signal = unixSignalName(ws.Signal())
		}
	default:
		return nil, err
	}
	return raw, nil
}

func unixSignalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGILL:
		return "SIGILL"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return fmt.Sprintf("signal %d", int(s))
}
