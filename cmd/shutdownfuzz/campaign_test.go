package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shutdownfuzz/shutdownfuzz/campaign"
	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/internal/atomicfile"
	"github.com/shutdownfuzz/shutdownfuzz/internal/testscn"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// lockScenario fails under hang (deadlock), and says so.
var lockScenario = testscn.LockLoop("campaign lock") + `expect abort: abort, clean
expect exit: lost-cleanup, clean
expect hang: deadlock, clean
expect unwind: deadlock, clean
expect terminate: deadlock, clean
`

func readJSON[T any](t *testing.T, path string) *T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// noTemps fails if dir holds a temporary file.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if _, temp := atomicfile.TempTarget(filepath.Base(p)); err == nil && temp {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func TestCampaignShort(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	out := filepath.Join(t.TempDir(), "c")
	var stdout, stderr bytes.Buffer
	code := Main([]string{"campaign", "-duration", "2s", "-policy", "hang", "-out", out, file}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	sum := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if sum.Runs == 0 || sum.Runs != sum.SessionRuns || !sum.OK || sum.Interrupted || sum.Resumed || sum.Sessions != 1 {
		t.Errorf("summary: runs %d session %d ok %v interrupted %v resumed %v sessions %d",
			sum.Runs, sum.SessionRuns, sum.OK, sum.Interrupted, sum.Resumed, sum.Sessions)
	}
	if sum.Config.Mode != "controlled" || sum.Config.Shard != "0/1" || len(sum.Cells) != 1 || sum.Cells[0].Runs != sum.Runs {
		t.Errorf("summary config %+v cells %+v", sum.Config, sum.Cells)
	}
	if len(sum.Resources) < 2 || sum.Resources[0].Label != "start" || sum.Resources[len(sum.Resources)-1].Label != "end" ||
		sum.Resources[0].Goroutines < 1 || sum.Resources[0].RSSKiB == 0 {
		t.Errorf("resource samples %+v", sum.Resources)
	}
	var dl *campaign.Signature
	for _, s := range sum.Signatures {
		if s.Outcome == "deadlock" {
			dl = s
		}
	}
	if dl == nil {
		t.Fatalf("no deadlock signature in %+v", sum.Signatures)
	}
	if dl.Crasher == "" || dl.Unexpected || !strings.HasPrefix(dl.Signature, "hang|deadlock/") || dl.Count < 1 {
		t.Fatalf("deadlock signature %+v", dl)
	}
	// The crasher replays its failure.
	e := corpus.LoadFile(dl.Crasher)
	if e.Err != nil {
		t.Fatal(e.Err)
	}
	checks, err := corpus.Replay(e.Scenario)
	if err != nil || len(checks) != 1 || !checks[0].OK || checks[0].Result.Outcome != runtime.Deadlock {
		t.Fatalf("crasher replay: %v %+v", err, checks)
	}
	st := readJSON[campaign.State](t, filepath.Join(out, "state.json"))
	if st.Runs != sum.Runs || len(st.Cells) != 1 || st.Cells[0].Next != sum.Runs || st.Signatures[dl.Signature] == nil {
		t.Errorf("state: runs %d cells %+v", st.Runs, st.Cells)
	}
	noTemps(t, out)
	if !strings.Contains(stdout.String(), "crasher "+dl.Crasher) {
		t.Errorf("stdout lacks the crasher:\n%s", &stdout)
	}
}

func TestCampaignUnexpectedExit1(t *testing.T) {
	// matrixScenario expects hang: clean, but the hung daemon keeps L.
	file := writeScenario(t, t.TempDir(), "lock.scn", matrixScenario)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"campaign", "-runs-per-cell", "40", "-duration", "0", "-policy", "hang", "-out", out, file}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	sum := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if sum.OK || len(sum.Unexpected) != 1 || sum.Unexpected[0].Outcome != "deadlock" || sum.Unexpected[0].Crasher == "" || sum.Runs != 40 {
		t.Fatalf("summary ok %v runs %d unexpected %+v", sum.OK, sum.Runs, sum.Unexpected)
	}
	if !strings.Contains(stdout.String(), "outside their expect lines") {
		t.Errorf("stdout:\n%s", &stdout)
	}
}

// A campaign whose runs run out of their step budget decided nothing: it
// counts them as inconclusive, is not ok, exits 1, and makes no crasher
// of them.
func TestCampaignBudgetIsInconclusive(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "loop.scn", "scenario \"loop\"\nmain { loop 200000 { yield } }\n")
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"campaign", "-runs-per-cell", "2", "-duration", "0", "-policy", "hang", "-out", out, file}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	sum := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if sum.OK || sum.Inconclusive != 2 || len(sum.Signatures) != 0 {
		t.Fatalf("summary ok %v inconclusive %d signatures %+v", sum.OK, sum.Inconclusive, sum.Signatures)
	}
	if !strings.Contains(stdout.String(), "2 runs inconclusive") {
		t.Errorf("stdout:\n%s", &stdout)
	}
}

func TestCampaignResume(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	out := t.TempDir()
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"campaign", "-duration", "0", "-out", out}, append(args, file)...), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, text := run("-policy", "hang", "-runs-per-cell", "30"); code != 0 {
		t.Fatalf("first session: %d\n%s", code, text)
	}
	first := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if code, text := run("-policy", "hang", "-runs-per-cell", "75"); code != 0 {
		t.Fatalf("second session: %d\n%s", code, text)
	}
	sum := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if first.Runs != 30 || sum.Runs != 75 || sum.SessionRuns != 45 || !sum.Resumed || sum.Sessions != 2 || sum.Cells[0].NextSchedule != 75 {
		t.Fatalf("runs %d then %d (session %d), resumed %v, sessions %d, cells %+v",
			first.Runs, sum.Runs, sum.SessionRuns, sum.Resumed, sum.Sessions, sum.Cells)
	}
	total := 0
	for _, n := range sum.Cells[0].Counts {
		total += n
	}
	if total != 75 {
		t.Errorf("counts %v do not add up to 75", sum.Cells[0].Counts)
	}
	// The signatures carry over: the same crasher, counts that grew.
	for _, s := range first.Signatures {
		var now *campaign.Signature
		for _, x := range sum.Signatures {
			if x.Signature == s.Signature {
				now = x
			}
		}
		if now == nil || now.Crasher != s.Crasher || now.Count < s.Count || now.FirstIndex != s.FirstIndex {
			t.Errorf("signature %s: was %+v, now %+v", s.Signature, s, now)
		}
	}
	// Another configuration is refused, and the state is kept.
	code, text := run("-policy", "abort", "-runs-per-cell", "5")
	if code != 2 || !strings.Contains(text, "another campaign") || !strings.Contains(text, "-fresh") {
		t.Fatalf("mismatch: exit %d\n%s", code, text)
	}
	if st := readJSON[campaign.State](t, filepath.Join(out, "state.json")); st.Runs != 75 {
		t.Fatalf("the refused session changed the state: %d runs", st.Runs)
	}
	// -fresh starts over and keeps the old state aside.
	if code, text := run("-policy", "abort", "-runs-per-cell", "5", "-fresh"); code != 0 {
		t.Fatalf("fresh: %d\n%s", code, text)
	}
	if st := readJSON[campaign.State](t, filepath.Join(out, "state.json")); st.Runs != 5 || st.Config.Policies[0] != "abort" {
		t.Fatalf("fresh state: %d runs, %v", st.Runs, st.Config.Policies)
	}
	if old := readJSON[campaign.State](t, filepath.Join(out, "state.json.old")); old.Runs != 75 {
		t.Fatalf("old state: %d runs", old.Runs)
	}
	noTemps(t, out)
}

func TestCampaignInterrupt(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	// No duration and no run limit: only the "signal" ends it.
	err := campaignMain(ctx, []string{"-duration", "0", "-out", out, file}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("interrupted campaign: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("took %s to stop", el)
	}
	sum := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if !sum.Interrupted || sum.Runs == 0 || len(sum.Cells) != 5 {
		t.Fatalf("summary: interrupted %v runs %d cells %d", sum.Interrupted, sum.Runs, len(sum.Cells))
	}
	st := readJSON[campaign.State](t, filepath.Join(out, "state.json"))
	if st.Runs != sum.Runs {
		t.Errorf("state has %d runs, summary %d", st.Runs, sum.Runs)
	}
	for _, s := range sum.Signatures {
		if s.Crasher == "" && !s.Pending && s.CrasherError == "" {
			t.Errorf("signature %s has no crasher, no error and is not pending", s.Signature)
		}
	}
	if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stdout.String(), "campaign interrupted") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	noTemps(t, out)
	// A pending crasher is made by the next session.
	var stdout2, stderr2 bytes.Buffer
	if code := Main([]string{"campaign", "-duration", "0", "-runs-per-cell", "1", "-out", out, file}, &stdout2, &stderr2); code != 0 {
		t.Fatalf("resume: %d\n%s%s", code, &stdout2, &stderr2)
	}
	for _, s := range readJSON[campaign.Summary](t, filepath.Join(out, "summary.json")).Signatures {
		if s.Pending {
			t.Errorf("signature %s still pending after a resume", s.Signature)
		}
	}
}

func TestCampaignTempFilesCleaned(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	out := t.TempDir()
	// What a killed session may leave behind.
	os.MkdirAll(filepath.Join(out, "crashers"), 0o755)
	for _, p := range []string{".state.json123", ".summary.json9", "crashers/.x.scn77"} {
		if err := os.WriteFile(filepath.Join(out, p), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"campaign", "-runs-per-cell", "3", "-policy", "abort", "-out", out, file}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &stdout, &stderr)
	}
	noTemps(t, out)
}

func TestCampaignShards(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	for _, shard := range []string{"0/3", "2/3"} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"campaign", "-shard", shard, "-runs-per-cell", "20", "-policy", "hang", "-out", out, file}, &stdout, &stderr); code != 0 {
			t.Fatalf("shard %s: exit %d\n%s%s", shard, code, &stdout, &stderr)
		}
		i := int(shard[0] - '0')
		st := readJSON[campaign.State](t, filepath.Join(out, "state.json"))
		if st.Config.Shard != shard || st.Cells[0].Next != i+3*20 {
			t.Errorf("shard %s: config %+v next %d", shard, st.Config, st.Cells[0].Next)
		}
		for _, s := range st.Signatures {
			if s.FirstIndex%3 != i {
				t.Errorf("shard %s ran schedule index %d", shard, s.FirstIndex)
			}
		}
	}
}

func TestCampaignBadShard(t *testing.T) {
	for _, shard := range []string{"2/2", "-1/2", "1/0", "x", "1", "0/-1"} {
		var stdout, stderr bytes.Buffer
		code := Main([]string{"campaign", "-shard", shard, "-out", t.TempDir(), "hang-holds-lock"}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "-shard") {
			t.Errorf("-shard %s: exit %d, want 2\n%s", shard, code, &stderr)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"campaign", "-mode", "tame", "-out", t.TempDir()}, &stdout, &stderr); code != 2 {
		t.Errorf("-mode tame: exit %d, want 2", code)
	}
}

func TestCampaignWild(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"campaign", "-mode", "wild", "-duration", "0", "-runs-per-cell", "15", "-policy", "abort", "-out", out, file}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &stdout, &stderr)
	}
	sum := readJSON[campaign.Summary](t, filepath.Join(out, "summary.json"))
	if sum.Config.Mode != "wild" || sum.Runs != 15 || sum.Config.Workers != 1 {
		t.Fatalf("summary %+v", sum.Config)
	}
	for _, s := range sum.Signatures {
		if !strings.HasPrefix(s.FirstStrategy, "wild ") || s.Crasher == "" && s.CrasherError == "" {
			t.Errorf("signature %+v", s)
		}
		if s.Crasher != "" {
			if e := corpus.LoadFile(s.Crasher); e.Err != nil {
				t.Error(e.Err)
			}
		}
	}
}

func TestMatrixWildMode(t *testing.T) {
	file := writeScenario(t, t.TempDir(), "lock.scn", lockScenario)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main([]string{"matrix", "-mode", "wild", "-runs", "6", "-policy", "abort", "-out", out, file}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, &stdout, &stderr)
	}
	m := readJSON[struct {
		Mode string `json:"mode"`
		Rows []struct {
			Cells []struct {
				Runs      int `json:"runs"`
				Witnesses map[string]struct {
					Strategy string `json:"strategy"`
					Note     string `json:"note"`
				} `json:"witnesses"`
			} `json:"cells"`
		} `json:"rows"`
	}](t, filepath.Join(out, "report.json"))
	if m.Mode != "wild" || len(m.Rows) != 1 || m.Rows[0].Cells[0].Runs != 6 {
		t.Fatalf("report %+v", m)
	}
	for o, w := range m.Rows[0].Cells[0].Witnesses {
		if !strings.HasPrefix(w.Strategy, "wild ") || w.Note != "" {
			t.Errorf("witness %s: %+v", o, w)
		}
	}
	if code := Main([]string{"matrix", "-mode", "tame", "-out", out, file}, &stdout, &stderr); code != 2 {
		t.Errorf("-mode tame: exit %d, want 2", code)
	}
}
