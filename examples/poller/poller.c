/* _poller: a gRPC-style poller. start(n) starts n native threads that loop
 * "take the GIL, make and drop a Python object, release, sleep 50 us" until
 * stop() tells them to end; main may exit while they run (main.py), or stop
 * them first (clean.py).
 *
 * start(n, "gilstate") (the default) takes the GIL with PyGILState_Ensure,
 * as gRPC's completion-queue pollers do: once finalization has begun, the
 * call hangs the thread, exits it, or on some releases meets freed state.
 * start(n, "view") (CPython 3.15, PEP 788) takes it with
 * PyThreadState_EnsureFromView on a view of the interpreter made while
 * main held the GIL: after finalization has begun the call is refused
 * (returns NULL) and the thread stops. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64

static int stop_flag;
static pthread_t tids[MAX_THREADS];
static int nthreads;

struct poller {
	long id;
#if PY_VERSION_HEX >= 0x030F0000
	PyInterpreterView *view; /* "view" mode */
#endif
};
static struct poller pollers[MAX_THREADS];

static void *poll_gilstate(void *arg)
{
	struct poller *p = arg;
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		PyGILState_STATE st = PyGILState_Ensure();
		PyObject *o = PyLong_FromLong(p->id);
		Py_XDECREF(o);
		PyGILState_Release(st);
		usleep(50);
	}
	return NULL;
}

#if PY_VERSION_HEX >= 0x030F0000
static void *poll_view(void *arg)
{
	struct poller *p = arg;
	while (!__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
		PyThreadStateToken *tok = PyThreadState_EnsureFromView(p->view);
		if (tok == NULL)
			break; /* refused: finalization has begun, the thread stops */
		PyObject *o = PyLong_FromLong(p->id);
		Py_XDECREF(o);
		PyThreadState_Release(tok);
		usleep(50);
	}
	PyInterpreterView_Close(p->view);
	return NULL;
}
#endif

static PyObject *start(PyObject *self, PyObject *args)
{
	int n = 4;
	const char *mode = "gilstate";
	void *(*loop)(void *) = poll_gilstate;
	if (!PyArg_ParseTuple(args, "|is", &n, &mode))
		return NULL;
	if (n < 1 || n > MAX_THREADS - nthreads) {
		PyErr_SetString(PyExc_ValueError, "too many threads");
		return NULL;
	}
	if (strcmp(mode, "view") == 0) {
#if PY_VERSION_HEX >= 0x030F0000
		loop = poll_view;
#else
		PyErr_SetString(PyExc_NotImplementedError, "mode \"view\" needs CPython 3.15 (PEP 788)");
		return NULL;
#endif
	} else if (strcmp(mode, "gilstate") != 0) {
		PyErr_Format(PyExc_ValueError, "unknown mode %s", mode);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct poller *p = &pollers[nthreads];
		p->id = nthreads;
#if PY_VERSION_HEX >= 0x030F0000
		if (loop == poll_view && (p->view = PyInterpreterView_FromCurrent()) == NULL)
			return NULL;
#endif
		if (pthread_create(&tids[nthreads], NULL, loop, p) != 0) {
			PyErr_SetString(PyExc_RuntimeError, "pthread_create failed");
			return NULL;
		}
		nthreads++;
	}
	Py_RETURN_NONE;
}

static PyObject *stop(PyObject *self, PyObject *noargs)
{
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
	Py_BEGIN_ALLOW_THREADS
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	Py_END_ALLOW_THREADS
	nthreads = 0;
	__atomic_store_n(&stop_flag, 0, __ATOMIC_RELEASE);
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
	{"start", start, METH_VARARGS, "start(n=4, mode='gilstate'): start n polling threads"},
	{"stop", stop, METH_NOARGS, "stop(): tell the threads to end and join them"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_poller", NULL, -1, methods};

PyMODINIT_FUNC PyInit__poller(void) { return PyModule_Create(&module); }
