/* PEP 788 probes: what real CPython 3.15 does with interpreter guards at
 * exit, and (observation e) what a native thread's first PyGILState_Ensure
 * during module teardown does on 3.15 and on 3.14.
 *
 * An embedding host, so that main is ours and Py_FinalizeEx is the exit path
 * that Py_RunMain (the python binary) takes. Build inside the sid root with
 *   gcc -O1 -g probe.c $(python3.X-config --embed --cflags) -o probe \
 *       $(python3.X-config --embed --ldflags) -pthread
 * and run "probe MODE" (probes.py does both, under a watchdog: a hang is an
 * expected outcome). Every event is one "EV <ms> <name> [key=value ...]" line
 * on stderr, <ms> from one CLOCK_MONOTONIC origin; probes.py judges them.
 *
 * Modes:
 *   a  a native thread holds a guard (PyInterpreterGuard_FromView) for about
 *      1 s after main's last line and runs Python through
 *      PyThreadState_Ensure(guard) every 100 ms; a Python daemon logs
 *      sys.is_finalizing() every 100 ms; an object in a module logs its
 *      __del__ (module teardown).                       -> observation a
 *   b  the same holder without Python, which retakes a guard at once after
 *      closing its own (and, if granted, registers an atexit callback
 *      through it), and a native poller that takes and closes a guard
 *      every 5 ms until one is refused; then PyThreadState_EnsureFromView
 *      and PyGILState_Ensure.                          -> b and c
 *   d  main takes PyInterpreterGuard_FromCurrent and never closes it (run
 *      once to the watchdog, once with SIGINT during the hang). -> d
 *   e  a native thread that never touched Python calls PyGILState_Ensure
 *      for the first time from inside module teardown (the __del__ signals
 *      it and waits at most 1 s for it, GIL released).  -> e (3.15 and 3.14)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HAVE_PEP788 (PY_VERSION_HEX >= 0x030F0000)

static struct timespec t0;
static char mode;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0.tv_sec) * 1e3 + (t.tv_nsec - t0.tv_nsec) / 1e6;
}

/* ev writes one event line with a single write(2), so lines of different
 * threads never interleave. */
static void ev(const char *fmt, ...)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "EV %.3f ", now_ms());
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    if (write(2, buf, n) < 0) {
        /* nothing to do: stderr is gone */
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static atomic_int atexit_ran, go_native, native_ran, holder_ready, holder_closed, poller_in_gilstate;

/* ---- the probe module: Python's side of the log ---- */

static PyObject *probe_ev(PyObject *Py_UNUSED(self), PyObject *arg)
{
    const char *s = PyUnicode_AsUTF8(arg);
    if (s == NULL)
        return NULL;
    ev("%s", s);
    Py_RETURN_NONE;
}

static PyObject *probe_atexit(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(noargs))
{
    atomic_store(&atexit_ran, 1);
    ev("atexit fin=%d", Py_IsFinalizing());
    Py_RETURN_NONE;
}

/* probe_teardown is the __del__ of an object held by module probe_teardown:
 * it runs when module teardown (finalize_modules) drops that module. In mode e it lets the native thread go
 * and waits for it (at most 1 s, GIL released). */
static PyObject *probe_teardown(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(noargs))
{
    ev("teardown-del fin=%d", Py_IsFinalizing());
    if (mode == 'e') {
        atomic_store(&go_native, 1);
        Py_BEGIN_ALLOW_THREADS
        for (int i = 0; i < 1000 && !atomic_load(&native_ran); i++)
            sleep_ms(1);
        Py_END_ALLOW_THREADS
        ev("teardown-del-done native_ran=%d", atomic_load(&native_ran));
    }
    Py_RETURN_NONE;
}

static PyMethodDef probe_methods[] = {
    {"ev", probe_ev, METH_O, NULL},
    {"atexit", probe_atexit, METH_NOARGS, NULL},
    {"teardown", probe_teardown, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef probe_module = {
    PyModuleDef_HEAD_INIT, "probe", NULL, -1, probe_methods, NULL, NULL, NULL, NULL,
};

static PyObject *PyInit_probe(void) { return PyModule_Create(&probe_module); }

/* c_atexit is the Py_AtExit function, the last step of Py_FinalizeEx: in
 * modes b and e it gives the threads that may hang in PyGILState_Ensure time
 * to show whether they do (the process exits when it returns). */
static void c_atexit(void)
{
    ev("py-atexit-c");
    if (mode == 'b') {
        for (int i = 0; i < 1500 && !atomic_load(&poller_in_gilstate); i++)
            sleep_ms(1);
        sleep_ms(500);
    } else if (mode == 'e') {
        sleep_ms(500);
    }
    ev("py-atexit-c-done");
}

/* The teardown object lives in a module of its own, not in __main__: a
 * Python daemon's frame keeps __main__'s dict alive after the module object
 * dies in finalize_modules, and a dict that is never cleared never finalizes
 * what it holds (seen on 3.11, 3.13, 3.14 and 3.15). Its __del__ binds what
 * it calls, as module globals may be None by then. */
static const char common_py[] =
    "import atexit, sys, threading, time, types, probe\n"
    "atexit.register(probe.atexit)\n"
    "class _Teardown:\n"
    "    def __del__(self, teardown=probe.teardown):\n"
    "        teardown()\n"
    "_m = types.ModuleType('probe_teardown')\n"
    "_m.td = _Teardown()\n"
    "sys.modules['probe_teardown'] = _m\n"
    "del _m\n";

static const char daemon_py[] =
    "def _daemon():\n"
    "    while True:\n"
    "        probe.ev('daemon-python fin=%d' % sys.is_finalizing())\n"
    "        time.sleep(0.1)\n"
    "threading.Thread(target=_daemon, daemon=True).start()\n";

/* ---- native threads ---- */

static void start(void *(*fn)(void *))
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL) != 0) {
        ev("pthread_create-failed");
        _exit(3);
    }
    pthread_detach(t);
}

#if HAVE_PEP788
static PyInterpreterView *view;

/* holder takes a guard, keeps it about 1 s (running Python through it every
 * 100 ms in mode a), then closes it. */
static void *holder(void *Py_UNUSED(arg))
{
    PyInterpreterGuard *g = PyInterpreterGuard_FromView(view);
    ev("holder-guard %s", g ? "granted" : "refused");
    atomic_store(&holder_ready, 1);
    if (g == NULL)
        return NULL;
    for (int i = 0; i < 10; i++) {
        sleep_ms(100);
        if (mode != 'a')
            continue;
        PyThreadStateToken *tok = PyThreadState_Ensure(g);
        if (tok == NULL) {
            ev("holder-ensure NULL");
            continue;
        }
        PyRun_SimpleString("import sys, probe; probe.ev('holder-python fin=%d' % sys.is_finalizing())");
        PyThreadState_Release(tok);
    }
    ev("holder-close");
    PyInterpreterGuard_Close(g);
    atomic_store(&holder_closed, 1);
    ev("holder-closed fin=%d", Py_IsFinalizing());
    if (mode == 'b') {
        /* At once: is a guard still granted after the last one is closed,
         * before main (woken by the close) refuses new ones? If so, register
         * an atexit callback through it: it runs only if main goes round
         * its pre-finalization loop (atexit included) once more. */
        g = PyInterpreterGuard_FromView(view);
        ev("holder-retake %s fin=%d", g ? "granted" : "refused", Py_IsFinalizing());
        if (g != NULL) {
            PyThreadStateToken *tok = PyThreadState_Ensure(g);
            if (tok != NULL) {
                PyRun_SimpleString("import atexit, probe; atexit.register(probe.ev, 'atexit-again')");
                PyThreadState_Release(tok);
            }
            ev("holder-retake-close registered=%d", tok != NULL);
            PyInterpreterGuard_Close(g);
            ev("holder-retake-closed");
        }
    }
    return NULL;
}

/* poller takes and closes a guard every 5 ms until one is refused, then
 * tries PyThreadState_EnsureFromView and PyGILState_Ensure. */
static void *poller(void *Py_UNUSED(arg))
{
    int granted = 0, during_wait = 0, after_close = 0, later = 0;
    for (;;) {
        int closed = atomic_load(&holder_closed), ex = atomic_load(&atexit_ran);
        PyInterpreterGuard *g = PyInterpreterGuard_FromView(view);
        if (g == NULL)
            break;
        granted++;
        if (ex && !closed)
            during_wait++;
        if (closed)
            after_close++;
        PyInterpreterGuard_Close(g);
        sleep_ms(5);
    }
    ev("poller-refused fin=%d granted=%d during_wait=%d after_holder_close=%d", Py_IsFinalizing(), granted, during_wait,
       after_close);
    for (int i = 0; i < 5; i++) {
        PyInterpreterGuard *g = PyInterpreterGuard_FromView(view);
        if (g != NULL) {
            later++;
            PyInterpreterGuard_Close(g);
        }
        sleep_ms(2);
    }
    ev("poller-later-grants %d/5", later);
    PyThreadStateToken *tok = PyThreadState_EnsureFromView(view);
    ev("poller-ensurefromview %s", tok ? "token" : "NULL");
    if (tok != NULL)
        PyThreadState_Release(tok);
    ev("poller-gilstate-ensure-call fin=%d", Py_IsFinalizing());
    atomic_store(&poller_in_gilstate, 1);
    PyGILState_STATE s = PyGILState_Ensure();
    ev("poller-gilstate-ensure-returned");
    PyGILState_Release(s);
    return NULL;
}
#endif

/* native_e waits for the teardown's signal, then takes the GIL for the
 * first time in its life. */
static void *native_e(void *Py_UNUSED(arg))
{
    while (!atomic_load(&go_native))
        sleep_ms(1);
    ev("native-ensure-call fin=%d", Py_IsFinalizing());
    PyGILState_STATE s = PyGILState_Ensure();
    atomic_store(&native_ran, 1);
    ev("native-ensure-ran");
    PyGILState_Release(s);
    ev("native-release-returned");
    return NULL;
}

int main(int argc, char **argv)
{
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (argc != 2 || strlen(argv[1]) != 1 || strchr("abde", argv[1][0]) == NULL) {
        fprintf(stderr, "usage: %s a|b|d|e\n", argv[0]);
        return 2;
    }
    mode = argv[1][0];
#if !HAVE_PEP788
    if (mode != 'e') {
        fprintf(stderr, "mode %c needs PEP 788 (CPython 3.15)\n", mode);
        return 2;
    }
#endif
    PyImport_AppendInittab("probe", PyInit_probe);
    Py_Initialize();
    Py_AtExit(c_atexit);
    char ver[32];
    snprintf(ver, sizeof ver, "%s", Py_GetVersion());
    ver[strcspn(ver, " \n")] = 0;
    ev("start python=%s mode=%c", ver, mode);
    if (PyRun_SimpleString(common_py) != 0)
        return 3;
    switch (mode) {
#if HAVE_PEP788
    case 'a':
    case 'b':
        view = PyInterpreterView_FromCurrent();
        if (view == NULL) {
            ev("view NULL");
            return 3;
        }
        if (mode == 'a' && PyRun_SimpleString(daemon_py) != 0)
            return 3;
        start(holder);
        if (mode == 'b')
            start(poller);
        Py_BEGIN_ALLOW_THREADS
        while (!atomic_load(&holder_ready))
            sleep_ms(1);
        Py_END_ALLOW_THREADS
        break;
    case 'd': {
        PyInterpreterGuard *g = PyInterpreterGuard_FromCurrent();
        ev("main-guard %s", g ? "granted" : "refused");
        break; /* never closed */
    }
#endif
    case 'e':
        start(native_e);
        break;
    }
    ev("main-last-line");
    int rc = Py_FinalizeEx();
    ev("finalize-returned rc=%d", rc);
    return 0;
}
