package runtime_test

import (
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// bpo-39877: 3.8's take_gil read tstate->async_exc after acquiring the
// GIL, before its must-exit check, so a thread that re-takes the GIL after
// step 7 freed its thread state reads freed memory, whatever the policy
// (fixed in 3.9 by 29356e03). A foreign thread that built its state with
// ensure and re-takes the GIL after io shows it; the failure carries the
// defect, and main's own acquire after Py_FinalizeEx returned (the same
// report kind) does not. FuzzShutdown found the hang
// contract "broken" by it before the defect was in runtime.Defects
// (fuzz/testdata/fuzz/FuzzShutdown/eaa8479cf17efb5e).
func TestAsyncExcReadIsACPythonDefect_bpo39877(t *testing.T) {
	// The input FuzzShutdown found (a foreign thread's atthreadexit
	// block, run on main at step 7, releases the GIL; another copy,
	// waiting for it in io since before the flag, takes it after its own
	// thread state was freed), with its schedule.
	s := scenario.Decode([]byte("1*00980000$\x14020100!80!\x1e#CB!c1"))
	sch, err := scenario.ParseSchedule("replay 0 1 0 1 1 0 2 2 1 2 1 1 2 2 1 2 1 2 1 1 2 1 2 1 0 1 2 1*10 2 1 2 1 2*12 1*3 2*4 1*3 2 1*12 0 1 1 0*9 2 0*3 1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := runtime.Run(s, runtime.Config{Policy: "hang", Schedule: sch})
	if err != nil {
		t.Fatal(err)
	}
	if r.Report.Kind != runtime.KindUAFTstate || r.Report.Thread == runtime.MainThread || r.Diverged >= 0 {
		t.Fatalf("%s/%s in %s (diverged at %d): want the 3.8 read of a freed thread state", r.Outcome, r.Report.Kind, r.Report.Thread, r.Diverged)
	}
	if r.Defect() != "bpo-39877" || r.Report.Defect != "bpo-39877" {
		t.Fatalf("the 3.8 read carries defect %q, want bpo-39877", r.Defect())
	}
	own := parse(t, `scenario "x"
main { yield }
after_finalize { acquire }`)
	r, err = runtime.Run(own, runtime.Config{Policy: "hang"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Report.Kind != runtime.KindUAFTstate || r.Defect() != "" {
		t.Fatalf("main's acquire after Py_FinalizeEx: %s/%s carries defect %q, want none", r.Outcome, r.Report.Kind, r.Defect())
	}
}
