// Package realchaos runs a command on real CPython with random delays at
// every call through which an extension's thread takes the GIL, and
// classifies each run (docs/chaos.md): `shutdownfuzz chaos`.
//
// For each interpreter (conform.Locate: 3.11 on the host, the newer
// releases in the Debian sid root) it builds, once into a cache, two
// things from the C sources in shim/: an embedding host, a Py_BytesMain
// program linked to libpython (so that an extension's C API calls go
// through the dynamic linker: Debian's own python3.X binaries are
// statically linked), and an LD_PRELOAD shim that wraps
// PyEval_RestoreThread, PyGILState_Ensure, PyEval_AcquireThread and, where
// libpython has them (3.15), PyThreadState_Ensure,
// PyThreadState_EnsureFromView and PyInterpreterGuard_FromView. The shim
// sleeps a seeded random delay before each call and records where every
// thread is in a table the tool reads after the run (markers.go).
//
// A command runs with its first word python (python3, python3.X) mapped
// to the host, and a bin directory of links to the host first on PATH.
// For an interpreter in a root the run gets a mount namespace of its own
// in which the working directory is bind mounted at the same path inside
// the root, then chroot: the user's files are reachable without a copy,
// the mount vanishes with the run's last process, and nothing is written
// into the root but the empty mount point.
//
// Runs are classified with conform's observer of how a process ended
// (conform.Ended), then the exit status, then the markers: a host whose
// Py_BytesMain never returned did not finish finalization. The package
// stands above conform (it imports conform, never the other way round:
// conform takes a Launcher, which the CLI builds here) and knows nothing
// of the model.
package realchaos
