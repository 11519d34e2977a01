package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/realchaos"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

func TestChaosUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"chaos"}, "no command to run"},
		{[]string{"chaos", "-runs", "5"}, "no command to run"},
		{[]string{"chaos", "-runs", "0", "--", "python", "x.py"}, "-runs must be between"},
		{[]string{"chaos", "-delay", "-1ms", "--", "python", "x.py"}, "-delay must be between"},
		{[]string{"chaos", "-delay", "soon", "--", "python", "x.py"}, "invalid value"},
		{[]string{"chaos", "-timeout", "0", "--", "python", "x.py"}, "-timeout must be positive"},
		{[]string{"chaos", "-json", "-markdown", "--", "python", "x.py"}, "exclude each other"},
		{[]string{"chaos", "-shard", "2/2", "--", "python", "x.py"}, "-shard"},
		{[]string{"chaos", "-witness", "crash", "--", "python", "x.py"}, "unknown outcome class"},
		{[]string{"chaos", "-exit", "300", "--", "python", "x.py"}, "-exit must be between"},
		{[]string{"chaos", "-env", "NOVALUE", "--", "python", "x.py"}, "want NAME=VALUE"},
		{[]string{"chaos", "-python", "2.7", "--", "python", "x.py"}, "unknown version"},
		{[]string{"chaos", "-nosuchflag", "--", "python", "x.py"}, "flag provided but not defined"},
	} {
		code, stdout, stderr := cli(tc.args...)
		if code != 2 || !strings.Contains(stdout+stderr, tc.want) || !strings.Contains(stderr, "usage: shutdownfuzz chaos") {
			t.Errorf("%v: exit %d, want 2 with %q and the usage line\nstdout: %s\nstderr: %s", tc.args, code, tc.want, stdout, stderr)
		}
		if strings.Contains(stderr, "goroutine ") {
			t.Errorf("%v: a Go stack", tc.args)
		}
	}
	if code, _, stderr := cli("chaos", "-h"); code != 0 || !strings.Contains(stderr, "usage: shutdownfuzz chaos") {
		t.Errorf("-h: exit %d\n%s", code, stderr)
	}
}

// TestChaosMissingInterpreter: a release that is not installed is an
// error (exit 2) naming the way to install it.
func TestChaosMissingInterpreter(t *testing.T) {
	t.Setenv("SFZ_CONFORM_ROOT", t.TempDir())
	code, _, stderr := cli("chaos", "-python", "3.14", "-runs", "1", "--", "python", "-c", "pass")
	if code != 2 || !strings.Contains(stderr, "make conform-env") {
		t.Errorf("exit %d, want 2 naming make conform-env\n%s", code, stderr)
	}
}

// shellWords splits a printed command into its words the way sh does.
func shellWords(t *testing.T, cmd string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "set -- "+cmd+"; printf '%s\\0' \"$@\"").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// TestChaosReplays: a failing run's printed command, pasted into a shell,
// replays the same outcome; a clean command exits 0 with its JSON report.
func TestChaosReplays(t *testing.T) {
	ins, err := realchaos.Installed()
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) == 0 {
		t.Skipf("no interpreter of %s installed (make conform-env installs them)", strings.Join(realchaos.Versions, ", "))
	}
	if ins[0].Root != "" && os.Geteuid() != 0 {
		t.Skipf("python %s is in the root %s: chaos runs there need root", ins[0].Version, ins[0].Root)
	}
	v := ins[0].Version
	code, stdout, stderr := cli("chaos", "-python", v, "-runs", "2", "-seed", "11", "-delay", "200us", "-timeout", "5s", "--", "python", "-c", "import os; os.abort()")
	want := "shutdownfuzz chaos -python " + v + " -runs 1 -delay 200us -seed 12 -baseline=false -timeout 5s -- python -c 'import os; os.abort()'"
	if code != 1 || !strings.Contains(stdout, "abort") || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, want 1 with %q\nstdout: %s\nstderr: %s", code, want, stdout, stderr)
	}
	words := shellWords(t, want)
	code, stdout, stderr = cli(append([]string{"chaos", "-json"}, words[2:]...)...)
	if code != 1 || !strings.Contains(stdout, `"abort"`) {
		t.Fatalf("replay %q: exit %d\n%s\n%s", want, code, stdout, stderr)
	}
	code, stdout, stderr = cli("chaos", "-json", "-python", v, "-runs", "1", "--", "python", "-c", "print('hi')")
	if code != 0 {
		t.Fatalf("clean command: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var rep realchaos.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Pythons) != 1 || rep.Pythons[0].Without.Outcomes[runtime.Clean] != 1 || rep.Pythons[0].With.Outcomes[runtime.Clean] != 1 {
		t.Errorf("report %+v", rep.Pythons[0])
	}
}
