// Package conform checks the interpreter model against real CPython. It
// exports a scenario as a real program - a C++ extension module that
// uses the C API, a Python driver and a build script - runs it on real
// interpreters (3.11 from the host's apt, the newer ones from a cached
// Debian sid root built by scripts/conform-env.sh), observes the outcome of
// each run and compares the observations with the outcome set the model
// predicts under the release's preset and default policy (for a release the
// model has no preset for, the newest one it models before it: ModelRelease).
//
// The mapping from statements to real code is the table of
// docs/conformance.md: thread/daemon are threading.Thread, foreign is a
// std::thread using PyGILState_Ensure/Release, release/acquire are
// PyEval_SaveThread/RestoreThread, native frames are C++ lambdas (noexcept,
// try/catch(...)), hold is a RAII DECREF, cleanup a destructor, teardown a
// __del__ run in finalize_modules, atexit is atexit.register. PEP 788's
// statements (3.15 only: ExportableOn refuses them before) are the real
// guard API: interp_guard is PyInterpreterGuard_FromCurrent or _FromView,
// close PyInterpreterGuard_Close, a guard block a RAII holder that closes
// on every way out, ensure G PyThreadState_Ensure, ensure view
// PyThreadState_EnsureFromView with a RAII PyThreadState_Release.
//
// What is observed (observe.go): exit status and signal (SIGABRT is abort,
// SIGSEGV/SIGBUS corruption, a watchdog kill deadlock), "SFZ " markers the
// instrumented code writes to stderr (a DECREF or use while PyGILState_Check
// is false, a canary of a published stack local found dead, a destructor that
// ran, a catch(...) that swallowed glibc's forced unwind), whether every
// atexit handler and the Py_AtExit function ran, and whether stdout holds
// every line main's side printed.
//
// Steering (steer.go): the model's witness of the outcome it predicts is
// replayed with its trace; every point where a thread met the must-exit check
// (cpython-faithfulness.md items 1, 3 and 11) becomes a real synchronisation:
// the thread marks that it reached the statement, an atexit handler that runs
// last waits for those marks before the finalizing flag is set, and the
// thread's blocking call waits until finalization reached the witness's
// phase before it retakes the GIL. A Py_AtExit pause lets threads that unwind
// during finalization write their markers.
//
// Unsteered runs (Config.Compare's, or all runs without Config.Steer) can
// start through a Launcher instead of `python3.X driver.py`: the CLI's
// -shim passes package realchaos's embedding host under its delay shim
// (docs/chaos.md). A witness counts as reproduced when a steered or an
// unsteered run showed it. Ended, RunProcess and Locate serve realchaos,
// which stands above this package.
package conform
