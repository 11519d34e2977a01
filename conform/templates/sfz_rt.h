// sfz_rt.h: the runtime of a scenario exported by `shutdownfuzz export`.
// Generated code calls these helpers, one per scenario statement; each helper
// is the statement's real CPython counterpart (docs/conformance.md has the
// table). Observations are written to stderr as lines that start with "SFZ ",
// each with one write(2), so that a line is never torn and is never lost in a
// buffer when the process dies.
#pragma once
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <utility>

namespace sfz {

// py_error carries a Python exception (a raising statement) out of a block.
// It is the only exception the generated code throws or catches by type, so
// catch (...) in a catchall frame still meets glibc's forced unwind.
struct py_error {};

inline void mark(const char *fmt, ...) {
	char buf[512];
	int n = snprintf(buf, sizeof buf, "SFZ ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, buf, n);
	(void)w;
}

inline void sleep_us(long us) {
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, nullptr);
}

inline bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
	return Py_IsFinalizing();
#else
	return _Py_IsFinalizing();
#endif
}

inline bool has_gil() { return PyGILState_Check(); }

// One entry of a thread's ensure stack: a PyGILState_Ensure (`ensure`) or a
// PEP 788 PyThreadState_Ensure (`ensure G`), which `unensure` undoes.
struct Ens {
	bool token = false;                 // PyThreadState_Ensure's token, not a PyGILState_STATE
	PyGILState_STATE st = PyGILState_UNLOCKED;
	void *tok = nullptr;                // the PyThreadStateToken (NULL: the ensure did not attach)
};

// Per-thread state: the thread's scenario name, whether the generated code
// believes it holds the GIL, the thread state saved by `release`, and the
// ensure stack.
struct Ctx {
	const char *name = "?";
	bool held = false;
	bool python = false; // a Python thread (main, thread, daemon)
	PyThreadState *saved = nullptr;
	Ens ens[64];
	int nens = 0;
};
inline thread_local Ctx ctx;

// Steering (docs/conformance.md, "Steering"): flags set at the model
// witness's context switches.
inline std::atomic<bool> steer_on{false};
inline std::atomic<int> phase{0}; // 0 body, 1 atexit done, 2 teardown began, 3 collected, 4 finalized
enum { PhaseBody = 0, PhaseAtexitDone = 1, PhaseTeardown = 2, PhaseCollected = 3, PhaseFinalized = 4 };
constexpr int MaxSteer = 16;
inline std::atomic<bool> reached[MaxSteer];
inline bool gated[MaxSteer]; // the gate waits for these points
inline int nsteer = 0;
inline long pause_us = 200000; // the Py_AtExit pause

// reach records that a thread arrived at steering point k.
inline void reach(int k) {
	if (!steer_on.load() || k < 0 || reached[k].exchange(true)) return;
	mark("reached %d %s", k, ctx.name);
}

// window waits, without the GIL, until finalization reaches the phase in
// which the witness met the policy (at most two seconds); a witness that
// failed before the flag (PhaseBody) does not wait.
inline void window(int k, int want) {
	if (!steer_on.load() || k < 0 || want == PhaseBody) return;
	for (int i = 0; i < 20000; i++) {
		if (finalizing() && phase.load() >= want) break;
		sleep_us(100);
	}
	sleep_us(200);
}

// gate runs as the last atexit handler, just before the finalizing flag: it
// waits (GIL released) until every steering point was reached, at most 2 s.
inline void gate() {
	phase.store(PhaseAtexitDone);
	if (!steer_on.load()) return;
	Py_BEGIN_ALLOW_THREADS
	for (int i = 0; i < 20000; i++) {
		bool all = true;
		for (int k = 0; k < nsteer; k++) all = all && (!gated[k] || reached[k].load());
		if (all) break;
		sleep_us(100);
	}
	sleep_us(2000);
	Py_END_ALLOW_THREADS
}

// ---- GIL ----

inline void release() {
	ctx.saved = PyEval_SaveThread();
	ctx.held = false;
}

inline void acquire(int k = -1, int want = 0) {
	window(k, want);
	PyEval_RestoreThread(ctx.saved);
	ctx.held = true;
}

inline void ensure(int k = -1, int want = 0) {
	window(k, want);
	Ens e;
	e.st = PyGILState_Ensure();
	if (ctx.nens < 64) ctx.ens[ctx.nens++] = e;
	ctx.held = true;
}

inline void release_token(void *tok);

// unensure undoes the newest ensure: PyGILState_Release, or
// PyThreadState_Release for an `ensure G`.
inline void unensure() {
	Ens e = ctx.nens > 0 ? ctx.ens[--ctx.nens] : Ens{};
	if (e.token)
		release_token(e.tok);
	else
		PyGILState_Release(e.st);
	ctx.held = ctx.python || ctx.nens > 0 ? has_gil() : false;
}

// need reports a statement that needs the GIL but runs without it
// (PyGILState_Check false), and returns whether it may go on.
inline bool need(const char *what, const char *obj) {
	if (has_gil()) return true;
	mark("nogil %s %s %s", what, obj, ctx.name);
	return false;
}

inline void io(int k = -1, int want = 0) {
	if (ctx.held) {
		Py_BEGIN_ALLOW_THREADS
		sleep_us(1000);
		window(k, want);
		Py_END_ALLOW_THREADS
	} else {
		sleep_us(1000);
	}
}

// ---- events and locks ----

struct Event {
	const char *name;
	std::atomic<bool> on{false};
};

inline void set(Event &e) { e.on.store(true); }

inline void wait(Event &e, int k = -1, int want = 0) {
	if (e.on.load()) return;
	bool drop = ctx.held;
	PyThreadState *ts = nullptr;
	if (drop) ts = PyEval_SaveThread();
	while (!e.on.load()) sleep_us(200);
	window(k, want);
	if (drop) PyEval_RestoreThread(ts);
}

struct Lock {
	const char *name;
	pthread_mutex_t mu;
	Lock(const char *n) : name(n) {
		pthread_mutexattr_t a;
		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
		pthread_mutex_init(&mu, &a);
	}
};

// lock does not release the GIL while it waits (a C-level mutex).
inline void lock(Lock &l) { pthread_mutex_lock(&l.mu); }

inline void unlock(Lock &l) {
	if (pthread_mutex_unlock(&l.mu) == EPERM) mark("bad-unlock %s %s", l.name, ctx.name);
}

// ---- objects ----

// Obj is a named object slot: a capsule whose destructor marks it freed, or
// a stack local with a canary.
constexpr unsigned long Alive = 0x5AFE5AFE5AFE5AFEul, Dead = 0xDEADDEADDEADDEADul;

struct Local {
	volatile unsigned long canary = Alive;
	~Local() { canary = Dead; }
};

struct Obj {
	const char *name;
	PyObject *o = nullptr;
	std::atomic<bool> freed{false};
	std::atomic<Local *> pub{nullptr}; // a published stack local
	bool global = false;               // publish moved the reference to a global
};

inline void capsule_freed(PyObject *cap) {
	Obj *ob = (Obj *)PyCapsule_GetContext(cap);
	if (ob && ob->o == cap) ob->freed.store(true);
}

inline void new_obj(Obj &ob) {
	if (!need("new", ob.name)) return;
	PyObject *cap = PyCapsule_New((void *)&ob, "sfz", capsule_freed);
	if (!cap) throw py_error{};
	PyCapsule_SetContext(cap, &ob);
	ob.o = cap;
	ob.freed.store(false);
	ob.global = false;
}

// live checks an object before a GIL-holding operation: false (with a
// marker) if it was freed, or if it is a published local on a dead stack.
inline bool live(Obj &ob, const char *op) {
	Local *l = ob.pub.load();
	if (l) {
		if (l->canary != Alive) {
			mark("stack-use-after-free %s %s %s", op, ob.name, ctx.name);
			return false;
		}
		return true;
	}
	if (!ob.o) return false; // never created: Python would see None
	if (ob.freed.load()) {
		mark("use-after-free %s %s %s", op, ob.name, ctx.name);
		return false;
	}
	return true;
}

inline void incref(Obj &ob) {
	if (live(ob, "incref") && need("incref", ob.name) && !ob.pub.load()) Py_INCREF(ob.o);
}

inline void decref(Obj &ob, const char *op = "decref") {
	if (!live(ob, op)) return;
	bool gil = need(op, ob.name);
	if (ob.pub.load()) return;
	(void)gil;
	Py_DECREF(ob.o); // without the GIL too: that is the bug being observed
}

inline void use(Obj &ob) {
	if (live(ob, "use") && need("use", ob.name) && !ob.pub.load()) (void)Py_REFCNT(ob.o);
}

// guard is a finalizing-safe DECREF: a no-op off the main thread once the
// interpreter is finalizing.
inline void guard(Obj &ob, bool is_main) {
	if (!is_main && finalizing()) return;
	decref(ob, "guard");
}

inline void publish(Obj &ob, Local *l) {
	if (!need("publish", ob.name)) return;
	if (l) {
		ob.pub.store(l);
		return;
	}
	ob.global = true;
}

inline void local(Obj &ob, Local *l) {
	ob.pub.store(nullptr);
	ob.o = nullptr;
	(void)l;
}

// Hold is a RAII smart pointer (py::object): it DECREFs in its destructor.
struct Hold {
	Obj &ob;
	explicit Hold(Obj &o) : ob(o) {}
	~Hold() {
		mark("dtor hold %s %s", ob.name, ctx.name);
		decref(ob, "hold");
	}
};

// Cleanup is a destructor running a block (a scope guard). Destructors are
// noexcept: a forced unwind that starts inside one calls std::terminate.
template <class F> struct Cleanup {
	const char *where;
	F f;
	Cleanup(const char *w, F fn) : where(w), f(std::move(fn)) {}
	~Cleanup() {
		mark("dtor cleanup %s %s", where, ctx.name);
		try {
			f();
		} catch (py_error &) {
			PyErr_Clear();
		}
	}
};

// ---- PEP 788 interpreter guards (CPython 3.15) ----
//
// A guard variable of the scenario is a PyInterpreterGuard pointer, NULL
// while it is not held (never taken, refused or closed). Guards named by
// the statement forms (interp_guard G, close G, ensure G, if guarded G) are
// globals, so that any thread may close them; a guard block's guard
// (interp_guard G { }) is a local of the block, closed by its destructor.

#if PY_VERSION_HEX >= 0x030F0000
// view is the main interpreter's view, taken by setup() while the
// interpreter runs (PyInterpreterView_FromMain) and never closed: threads
// without an attached thread state take guards from it, and ensure view
// attaches through it (PEP 788: a view outlives its interpreter).
inline PyInterpreterView *view;

struct Guard {
	const char *name;
	std::atomic<PyInterpreterGuard *> p{nullptr};
	explicit Guard(const char *n) : name(n) {}
	bool held() const { return p.load() != nullptr; }
};

// take_guard is PyInterpreterGuard_FromCurrent() for a thread with an
// attached thread state (the GIL), PyInterpreterGuard_FromView(view) for
// one without; NULL when finalization refuses guards.
inline PyInterpreterGuard *take_guard(const char *name) {
	PyInterpreterGuard *g;
	if (PyThreadState_GetUnchecked() != nullptr) {
		g = PyInterpreterGuard_FromCurrent();
		if (g == nullptr) PyErr_Clear();
	} else {
		g = PyInterpreterGuard_FromView(view);
	}
	if (g == nullptr) mark("guard-refused %s %s", name, ctx.name);
	return g;
}

// close_guard is PyInterpreterGuard_Close on a guard that is held, once (a guard
// not held, or closed already, is left alone); any thread may close.
inline void close_guard(Guard &g) {
	PyInterpreterGuard *p = g.p.exchange(nullptr);
	if (p != nullptr) PyInterpreterGuard_Close(p);
}

// interp_guard is the statement form: the new guard overwrites the
// variable, so a guard it still held is leaked (never closed), as a C
// pointer would be.
inline void interp_guard(Guard &g) {
	if (g.p.exchange(take_guard(g.name)) != nullptr) mark("guard-leaked %s %s", g.name, ctx.name);
}

// ScopedGuard is interp_guard G { } else { }: the block's own guard, closed
// by the destructor however the block is left (normally, by a raise, by
// glibc's forced unwind), unless a close in the block closed it first.
struct ScopedGuard : Guard {
	explicit ScopedGuard(const char *n) : Guard(n) { p.store(take_guard(n)); }
	~ScopedGuard() { close_guard(*this); }
};

// find is the guard a statement means by a name: the innermost enclosing
// guard block of that name whose guard is still held, else the statement
// form's global (the model's guardState.find).
inline Guard &find(Guard &g) { return g; }
template <class... G> inline Guard &find(Guard &g, G &...outer) { return g.held() ? g : find(outer...); }

// ensure_guard is ensure G: PyThreadState_Ensure(G). With G not held
// (closed, refused or never taken) that is undefined behaviour: it is
// reported, and not done.
inline void ensure_guard(Guard &g, int k = -1, int want = 0) {
	window(k, want);
	Ens e;
	e.token = true;
	PyInterpreterGuard *p = g.p.load();
	if (p == nullptr)
		mark("closed-guard ensure %s %s", g.name, ctx.name);
	else if ((e.tok = PyThreadState_Ensure(p)) == nullptr)
		mark("ensure-failed %s %s", g.name, ctx.name);
	if (ctx.nens < 64) ctx.ens[ctx.nens++] = e;
	ctx.held = e.tok != nullptr || has_gil();
}

inline void release_token(void *tok) {
	if (tok != nullptr) PyThreadState_Release((PyThreadStateToken *)tok);
}

// EnsureView is ensure view { } else { }: PyThreadState_EnsureFromView(view)
// (NULL: refused, the else block runs), and PyThreadState_Release, which
// closes the implicit guard, when the block is left however it is left.
struct EnsureView {
	void *tok;
	EnsureView() {
		tok = PyThreadState_EnsureFromView(view);
		if (tok == nullptr) {
			if (PyThreadState_GetUnchecked() != nullptr) PyErr_Clear();
			mark("view-refused %s", ctx.name);
			return;
		}
		ctx.held = true;
	}
	~EnsureView() {
		if (tok == nullptr) return;
		PyThreadState_Release((PyThreadStateToken *)tok);
		ctx.held = ctx.python || ctx.nens > 0 ? has_gil() : false;
	}
	bool attached() const { return tok != nullptr; }
};
#else
inline void release_token(void *) {}
#endif

// ---- threads ----

struct Thread {
	const char *name;
	bool daemon, foreign;
	std::atomic<bool> started{false}, done{false};
};

// Python callables the driver hands over in setup().
inline PyObject *py_spawn, *py_join, *py_work, *py_print;

inline void call(PyObject *fn, PyObject *args) {
	if (!args) throw py_error{};
	PyObject *r = PyObject_CallObject(fn, args);
	Py_DECREF(args);
	if (!r) throw py_error{};
	Py_DECREF(r);
}

inline void work(int n) {
	if (!need("work", "")) return;
	call(py_work, Py_BuildValue("(i)", n));
}

inline void print(const char *text, bool flush = false) {
	if (!need("print", "")) return;
	call(py_print, Py_BuildValue("(si)", text, flush ? 1 : 0));
}

inline void foreign_run(Thread *t, void (*body)());

inline void spawn(Thread &t, void (*foreign_body)(), bool nowait = false) {
	if (t.started.exchange(true)) return;
	if (t.foreign) {
		std::thread(foreign_run, &t, foreign_body).detach();
		return;
	}
	if (!need("spawn", t.name)) return;
	call(py_spawn, Py_BuildValue("(sii)", t.name, t.daemon ? 1 : 0, nowait ? 1 : 0));
}

inline void join(Thread &t) {
	if (!t.started.load()) return;
	if (t.foreign) {
		bool drop = ctx.held;
		PyThreadState *ts = drop ? PyEval_SaveThread() : nullptr;
		while (!t.done.load()) sleep_us(200);
		if (drop) PyEval_RestoreThread(ts);
	} else {
		call(py_join, Py_BuildValue("(s)", t.name));
	}
	mark("join-returned %s %s", t.name, ctx.name);
}

inline void foreign_run(Thread *t, void (*body)()) {
	ctx.name = t->name;
	ctx.held = false;
	mark("start %s", t->name);
	body();
	mark("end %s", t->name);
	t->done.store(true);
}

// exit is sys.exit(n): SystemExit raised out of main's body.
inline void exit_(int n) {
	PyObject *v = PyLong_FromLong(n);
	PyErr_SetObject(PyExc_SystemExit, v);
	Py_XDECREF(v);
	throw py_error{};
}

// enter and leave bracket a Python-level block (a thread body, an atexit
// handler, a teardown): the block holds the GIL on entry, and must hand it
// back on return (else the marker, and the GIL is retaken so that the
// interpreter does not crash later for a reason the scenario did not model).
inline void enter(const char *name) {
	ctx.name = name;
	ctx.held = true;
	ctx.python = true;
	mark("start %s", name);
}

inline PyObject *leave(bool raised) {
	if (!has_gil()) {
		mark("nogil block-end - %s", ctx.name);
		if (ctx.saved) PyEval_RestoreThread(ctx.saved);
	}
	if (raised) {
		if (PyErr_ExceptionMatches(PyExc_SystemExit)) return nullptr;
		PyObject *t, *v, *tb;
		PyErr_Fetch(&t, &v, &tb);
		PyErr_NormalizeException(&t, &v, &tb);
		PyObject *s = v ? PyObject_Str(v) : nullptr;
		mark("raised %s %s: %s", ctx.name, t ? ((PyTypeObject *)t)->tp_name : "?", s ? PyUnicode_AsUTF8(s) : "?");
		Py_XDECREF(s);
		PyErr_Restore(t, v, tb);
		// A raise ends the block; it is not a failure (v2 "Raising statements").
		PyErr_Clear();
	} else {
		mark("end %s", ctx.name);
	}
	Py_RETURN_NONE;
}

// finalized is a Py_AtExit function: the last step of Py_FinalizeEx. The
// pause gives threads that unwind during finalization time to write their
// markers before the process exits.
inline void finalized() {
	phase.store(PhaseFinalized);
	mark("finalized");
	sleep_us(pause_us);
}

} // namespace sfz
