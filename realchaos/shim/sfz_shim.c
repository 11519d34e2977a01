/* sfz_shim.c: the delay shim of `shutdownfuzz chaos` (LD_PRELOAD).
 *
 * It wraps every entry point through which an extension's thread takes the
 * GIL (or, on 3.15, an interpreter guard): each wrapped call first sleeps a
 * random delay, then calls the real function, found with dlsym(RTLD_NEXT) at
 * first use. The build (realchaos/build.go) defines SFZ_WRAP_<name> for each
 * function the interpreter's libpython exports; a function it lacks is not
 * wrapped (not defined here), so nothing changes for a program that could
 * not have linked against it.
 *
 * Delays: uniform in 0..D microseconds, and 1 call in SFZ_SHIM_LONG_EVERY
 * (default 50) sleeps SFZ_SHIM_LONG_FACTOR (default 10) times D. Each thread
 * draws from its own generators, seeded from the run's seed, the process's
 * number and the thread's number, so a seed replays the same delays in each
 * thread. A thread's number is its order of creation in the process (the
 * shim wraps pthread_create; 0 is the main thread), which a program that
 * starts its threads in program order makes the same in every run. A
 * thread has two generators: one for the calls it enters before the
 * interpreter is finalizing, one for those it enters while it is. The
 * calls around the finalizing flag are the ones whose timing decides the
 * outcome, and their delays then do not depend on how many calls the
 * thread made before (which the scheduler decides): the k-th call a thread
 * enters while finalizing gets the same delay in every replay of a seed.
 *
 * Markers: the shim records, per thread, the wrapped call it is in (enter:
 * delaying; calling the real function; returned; the thread exited, inside
 * the call or not), whether the interpreter was finalizing when the thread
 * entered (Py_IsFinalizing, _Py_IsFinalizing on 3.11: an atomic read, safe
 * without the GIL), and per process whether the embedding host saw
 * Py_BytesMain return. They go to the file behind the descriptor
 * SFZ_SHIM_FD: when it is a regular file (the tool passes a memfd) the shim
 * maps it and writes the table below with plain stores, so recording costs no
 * system call and does not widen the windows it observes; the table survives
 * the process and the tool reads it after the run. Any other descriptor (a
 * pipe, a terminal: SFZ_SHIM_FD=2 by hand) gets one text line per marker.
 *
 * Environment: SFZ_SHIM_FD, SFZ_SHIM_SEED, SFZ_SHIM_DELAY_US (0: record
 * only), SFZ_SHIM_LONG_EVERY, SFZ_SHIM_LONG_FACTOR.
 *
 * The table (little-endian; realchaos/markers.go reads it, keep the two in
 * step): a 128-byte header, SFZ_PROCS process slots and SFZ_THREADS thread
 * slots of 64 bytes each.
 */
#define _GNU_SOURCE
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SFZ_MAGIC 0x314d4948535a4653ULL /* "SFZSHIM1" */
#define SFZ_LAYOUT 1
#define SFZ_PROCS 32
#define SFZ_THREADS 512

enum sfz_func {
	F_RESTORE_THREAD = 1,
	F_GILSTATE_ENSURE,
	F_ACQUIRE_THREAD,
	F_THREADSTATE_ENSURE,
	F_ENSURE_FROM_VIEW,
	F_GUARD_FROM_VIEW,
};

static const char *const func_names[] = {
	"", "PyEval_RestoreThread", "PyGILState_Ensure", "PyEval_AcquireThread",
	"PyThreadState_Ensure", "PyThreadState_EnsureFromView", "PyInterpreterGuard_FromView",
};

enum sfz_state {
	S_DELAYING = 1, /* entered the wrapper, sleeping before the call */
	S_CALLING,      /* inside the real function */
	S_RETURNED,     /* the real function returned */
	S_EXITED,       /* the thread exited (outside any wrapped call) */
	S_EXITED_INSIDE, /* the thread exited inside the real function (pthread_exit) */
	S_REFUSED,       /* a PEP 788 call returned NULL: refused */
};

static const char *const state_names[] = {"", "delaying", "calling", "returned", "exited", "exited-inside", "refused"};

struct sfz_header {
	uint64_t magic;
	uint32_t layout, procs, threads;
	uint32_t nprocs;   /* process slots handed out (atomic) */
	uint32_t nthreads; /* thread slots handed out (atomic; may pass threads) */
	uint32_t pad0;
	uint64_t seq; /* the marker sequence (atomic) */
	uint64_t delay_us, seed;
	uint8_t reserved[128 - 56];
};

struct sfz_proc {
	uint64_t begin_seq; /* the host's begin marker, or the first call */
	uint32_t pid, index;
	uint64_t end_seq;   /* Py_BytesMain returned (0: never) */
	int32_t status;     /* what it returned */
	uint32_t flags;     /* 1: the host began here, 2: the host ended */
	uint64_t fin_seq;   /* the first marker that saw the interpreter finalizing */
	uint64_t calls, delayed_ns;
	uint32_t threads, pad;
};

struct sfz_thread {
	uint64_t seq; /* the thread's latest marker (written last) */
	uint32_t pid, tid, proc, index;
	uint8_t func, state, fin_enter, fin_now;
	uint32_t refusals; /* PEP 788 calls that returned NULL */
	uint64_t calls, delayed_ns, last_delay_ns, enter_seq;
};

_Static_assert(sizeof(struct sfz_header) == 128, "header layout");
_Static_assert(sizeof(struct sfz_proc) == 64, "process slot layout");
_Static_assert(sizeof(struct sfz_thread) == 64, "thread slot layout");

#define SFZ_SIZE (sizeof(struct sfz_header) + SFZ_PROCS * sizeof(struct sfz_proc) + SFZ_THREADS * sizeof(struct sfz_thread))

static int out_fd = -1;     /* the descriptor, for text markers */
static int text_mode;       /* markers as text lines on out_fd */
static struct sfz_header *hdr;
static struct sfz_proc *procs;
static struct sfz_thread *threads;
static uint64_t seed, delay_ns, long_every = 50, long_factor = 10;

/* This process's slot and number; reset in a forked child. */
static struct sfz_proc *self_proc;
static uint32_t self_index;
static pid_t self_pid;
static uint32_t proc_threads; /* this process's thread count (atomic) */
static uint64_t generation;   /* bumped by fork: a thread's state is stale when its generation differs */

struct tls {
	uint64_t generation;
	uint64_t rng, rng_fin; /* the generators before and while finalizing */
	uint32_t index;
	uint32_t created; /* the thread's creation number (pthread_create), 0: none */
	int in_use;
	uint8_t func, state; /* the latest marker, also without a slot */
	uint32_t refusals;
	struct sfz_thread *slot;
	uint64_t calls, delayed_ns;
};
static __thread struct tls me;
static pthread_key_t exit_key;

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	return strtoull(v, NULL, 10);
}

static uint64_t next_seq(void)
{
	static uint64_t local_seq;
	if (hdr)
		return __atomic_add_fetch(&hdr->seq, 1, __ATOMIC_SEQ_CST);
	return __atomic_add_fetch(&local_seq, 1, __ATOMIC_SEQ_CST);
}

static void text_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void text_line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if (n > (int)sizeof buf - 1)
		n = sizeof buf - 1;
	ssize_t w = write(out_fd, buf, (size_t)n); /* one write: lines of threads do not mix */
	(void)w;
}

static int (*is_finalizing)(void);
static int finalizing(void)
{
	static int resolved;
	if (!__atomic_load_n(&resolved, __ATOMIC_ACQUIRE)) {
		void *f = dlsym(RTLD_DEFAULT, "Py_IsFinalizing");
		if (!f)
			f = dlsym(RTLD_DEFAULT, "_Py_IsFinalizing");
		__atomic_store_n(&is_finalizing, (int (*)(void))f, __ATOMIC_RELAXED);
		__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
	}
	int (*f)(void) = __atomic_load_n(&is_finalizing, __ATOMIC_RELAXED);
	return f ? f() != 0 : 0;
}

/* proc returns this process's slot, taking one the first time (and again in
 * a forked child). */
static struct sfz_proc *proc(void)
{
	pid_t pid = getpid();
	if (self_pid == pid)
		return self_proc;
	self_pid = pid;
	self_proc = NULL;
	if (hdr) {
		uint32_t i = __atomic_fetch_add(&hdr->nprocs, 1, __ATOMIC_SEQ_CST);
		self_index = i + 1;
		if (i < SFZ_PROCS) {
			self_proc = &procs[i];
			self_proc->pid = (uint32_t)pid;
			self_proc->index = self_index;
			__atomic_store_n(&self_proc->begin_seq, next_seq(), __ATOMIC_RELEASE);
		}
	} else {
		static uint32_t nproc_local;
		self_index = ++nproc_local;
	}
	return self_proc;
}

static uint32_t proc_created; /* threads this process created (atomic) */

static void after_fork_child(void)
{
	generation++;
	self_pid = 0;
	proc_threads = 0;
	proc_created = 0;
	(void)proc();
}

/* thread_exit runs as the thread exits (a key destructor: on return from
 * its start function and on pthread_exit, as CPython's threads exit when
 * they meet finalization on 3.11), in the exiting thread. */
static void thread_exit(void *p)
{
	(void)p;
	if (!me.in_use || me.generation != generation)
		return;
	uint8_t st = me.state;
	me.state = st == S_CALLING || st == S_DELAYING ? S_EXITED_INSIDE : S_EXITED;
	struct sfz_thread *t = me.slot;
	uint64_t s = next_seq();
	if (t) {
		t->state = me.state;
		__atomic_store_n(&t->seq, s, __ATOMIC_RELEASE);
	}
	if (text_mode)
		text_line("sfz-shim %d t%u %s %s\n", (int)self_pid, me.index, func_names[me.func], state_names[me.state]);
}

__attribute__((constructor)) static void shim_init(void)
{
	seed = env_u64("SFZ_SHIM_SEED", 0);
	delay_ns = env_u64("SFZ_SHIM_DELAY_US", 0) * 1000;
	long_every = env_u64("SFZ_SHIM_LONG_EVERY", 50);
	long_factor = env_u64("SFZ_SHIM_LONG_FACTOR", 10);
	pthread_key_create(&exit_key, thread_exit);
	pthread_atfork(NULL, NULL, after_fork_child);
	const char *fd_s = getenv("SFZ_SHIM_FD");
	if (!fd_s || !*fd_s)
		return;
	out_fd = atoi(fd_s);
	struct stat st;
	if (fstat(out_fd, &st) != 0) {
		out_fd = -1;
		return;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size >= SFZ_SIZE) {
		void *m = mmap(NULL, SFZ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, out_fd, 0);
		if (m != MAP_FAILED) {
			hdr = m;
			procs = (struct sfz_proc *)(hdr + 1);
			threads = (struct sfz_thread *)(procs + SFZ_PROCS);
			uint64_t zero = 0;
			/* The first process to start initialises the header. */
			if (__atomic_compare_exchange_n(&hdr->magic, &zero, SFZ_MAGIC, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
				hdr->layout = SFZ_LAYOUT;
				hdr->procs = SFZ_PROCS;
				hdr->threads = SFZ_THREADS;
				hdr->delay_us = delay_ns / 1000;
				hdr->seed = seed;
			}
			return;
		}
	}
	text_mode = 1;
}

/* sfz_host_event is called by the embedding host (sfz_host.c): event 0
 * before Py_BytesMain, 1 after it returned status. */
void sfz_host_event(int event, int status)
{
	struct sfz_proc *p = proc();
	uint64_t s = next_seq();
	if (p) {
		if (event == 0) {
			p->flags |= 1;
		} else {
			p->status = status;
			p->flags |= 2;
			__atomic_store_n(&p->end_seq, s, __ATOMIC_RELEASE);
		}
	}
	if (text_mode)
		text_line("sfz-shim %d host %s %d\n", (int)getpid(), event == 0 ? "begin" : "end", status);
}

/* thread returns the calling thread's state, set up at its first wrapped call. */
static struct tls *thread(void)
{
	if (me.in_use && me.generation == generation)
		return &me;
	(void)proc();
	me.generation = generation;
	me.in_use = 1;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	uint32_t order = __atomic_add_fetch(&proc_threads, 1, __ATOMIC_SEQ_CST);
	if (tid == self_pid)
		me.index = 0; /* the main thread */
	else if (me.created)
		me.index = me.created;
	else
		me.index = 100000 + order; /* not created through pthread_create */
	me.rng = seed ^ ((uint64_t)self_index * 0xd1b54a32d192ed03ULL) ^ ((uint64_t)(me.index + 1) * 0x8cb92ba72f3d8dd7ULL);
	me.rng_fin = me.rng ^ 0x5851f42d4c957f2dULL;
	me.calls = me.delayed_ns = 0;
	me.refusals = 0;
	me.slot = NULL;
	if (hdr) {
		uint32_t i = __atomic_fetch_add(&hdr->nthreads, 1, __ATOMIC_SEQ_CST);
		if (i < SFZ_THREADS) {
			struct sfz_thread *t = &threads[i];
			t->pid = (uint32_t)self_pid;
			t->tid = (uint32_t)tid;
			t->proc = self_index;
			t->index = me.index;
			me.slot = t;
		}
		if (self_proc)
			__atomic_add_fetch(&self_proc->threads, 1, __ATOMIC_RELAXED);
	}
	pthread_setspecific(exit_key, &me); /* non-NULL: the destructor runs */
	return &me;
}

static void mark(struct tls *t, enum sfz_func f, enum sfz_state st, int fin)
{
	uint64_t s = next_seq();
	t->func = (uint8_t)f;
	t->state = (uint8_t)st;
	if (t->slot) {
		struct sfz_thread *sl = t->slot;
		sl->func = (uint8_t)f;
		sl->state = (uint8_t)st;
		sl->fin_now = (uint8_t)fin;
		if (st == S_DELAYING) {
			sl->fin_enter = (uint8_t)fin;
			sl->enter_seq = s;
		}
		sl->refusals = t->refusals;
		sl->calls = t->calls;
		sl->delayed_ns = t->delayed_ns;
		__atomic_store_n(&sl->seq, s, __ATOMIC_RELEASE);
	}
	if (fin && self_proc) {
		uint64_t zero = 0;
		__atomic_compare_exchange_n(&self_proc->fin_seq, &zero, s, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	if (text_mode)
		text_line("sfz-shim %d t%u %s %s fin=%d\n", (int)self_pid, t->index, func_names[f], state_names[st], fin);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ns / 1000000000ULL);
	until.tv_nsec += (long)(ns % 1000000000ULL);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
	}
}

/* enter records the call and sleeps its delay. */
static struct tls *enter(enum sfz_func f)
{
	int saved = errno;
	struct tls *t = thread();
	t->calls++;
	int fin = finalizing();
	mark(t, f, S_DELAYING, fin);
	if (delay_ns) {
		uint64_t *rng = fin ? &t->rng_fin : &t->rng;
		uint64_t d;
		if (long_every && splitmix(rng) % long_every == 0)
			d = delay_ns * long_factor;
		else
			d = splitmix(rng) % (delay_ns + 1);
		if (t->slot)
			t->slot->last_delay_ns = d;
		if (d) {
			sleep_ns(d);
			t->delayed_ns += d;
			if (self_proc)
				__atomic_add_fetch(&self_proc->delayed_ns, d, __ATOMIC_RELAXED);
		}
	}
	if (self_proc)
		__atomic_add_fetch(&self_proc->calls, 1, __ATOMIC_RELAXED);
	mark(t, f, S_CALLING, finalizing());
	errno = saved;
	return t;
}

/* leave records the return; refused: a PEP 788 call returned NULL. */
static void leave(struct tls *t, enum sfz_func f, int refused)
{
	int saved = errno;
	if (refused)
		t->refusals++;
	mark(t, f, refused ? S_REFUSED : S_RETURNED, finalizing());
	errno = saved;
}

static void *resolve(void **cache, const char *name)
{
	void *p = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	if (p)
		return p;
	p = dlsym(RTLD_NEXT, name);
	if (!p) {
		/* The build wraps only what libpython exports: this is a shim
		 * built for another interpreter. */
		char msg[160];
		int n = snprintf(msg, sizeof msg, "sfz-shim: %s not found in the interpreter (a shim built for another release?)\n", name);
		ssize_t w = write(2, msg, (size_t)n);
		(void)w;
		abort();
	}
	__atomic_store_n(cache, p, __ATOMIC_RELEASE);
	return p;
}

#define REAL(type, name) ((type)resolve(&real_##name, #name))

/* pthread_create numbers the threads a process creates, in the order it
 * creates them: the number names the thread in the markers and seeds its
 * generators. */
struct start {
	void *(*fn)(void *);
	void *arg;
	uint32_t number;
};

static void *start_numbered(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	me.created = s.number;
	return s.fn(s.arg);
}

static void *real_pthread_create;
int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))resolve(&real_pthread_create, "pthread_create");
	struct start *s = malloc(sizeof *s);
	if (!s)
		return real(thread, attr, fn, arg);
	s->fn = fn;
	s->arg = arg;
	s->number = __atomic_add_fetch(&proc_created, 1, __ATOMIC_SEQ_CST);
	int r = real(thread, attr, start_numbered, s);
	if (r != 0)
		free(s);
	return r;
}

#ifdef SFZ_WRAP_PyEval_RestoreThread
static void *real_PyEval_RestoreThread;
void PyEval_RestoreThread(PyThreadState *tstate)
{
	struct tls *t = enter(F_RESTORE_THREAD);
	REAL(void (*)(PyThreadState *), PyEval_RestoreThread)(tstate);
	leave(t, F_RESTORE_THREAD, 0);
}
#endif

#ifdef SFZ_WRAP_PyGILState_Ensure
static void *real_PyGILState_Ensure;
PyGILState_STATE PyGILState_Ensure(void)
{
	struct tls *t = enter(F_GILSTATE_ENSURE);
	PyGILState_STATE r = REAL(PyGILState_STATE(*)(void), PyGILState_Ensure)();
	leave(t, F_GILSTATE_ENSURE, 0);
	return r;
}
#endif

#ifdef SFZ_WRAP_PyEval_AcquireThread
static void *real_PyEval_AcquireThread;
void PyEval_AcquireThread(PyThreadState *tstate)
{
	struct tls *t = enter(F_ACQUIRE_THREAD);
	REAL(void (*)(PyThreadState *), PyEval_AcquireThread)(tstate);
	leave(t, F_ACQUIRE_THREAD, 0);
}
#endif

#ifdef SFZ_WRAP_PyThreadState_Ensure
static void *real_PyThreadState_Ensure;
PyThreadStateToken *PyThreadState_Ensure(PyInterpreterGuard *guard)
{
	struct tls *t = enter(F_THREADSTATE_ENSURE);
	PyThreadStateToken *r = REAL(PyThreadStateToken * (*)(PyInterpreterGuard *), PyThreadState_Ensure)(guard);
	leave(t, F_THREADSTATE_ENSURE, r == NULL);
	return r;
}
#endif

#ifdef SFZ_WRAP_PyThreadState_EnsureFromView
static void *real_PyThreadState_EnsureFromView;
PyThreadStateToken *PyThreadState_EnsureFromView(PyInterpreterView *view)
{
	struct tls *t = enter(F_ENSURE_FROM_VIEW);
	PyThreadStateToken *r = REAL(PyThreadStateToken * (*)(PyInterpreterView *), PyThreadState_EnsureFromView)(view);
	leave(t, F_ENSURE_FROM_VIEW, r == NULL);
	return r;
}
#endif

#ifdef SFZ_WRAP_PyInterpreterGuard_FromView
static void *real_PyInterpreterGuard_FromView;
PyInterpreterGuard *PyInterpreterGuard_FromView(PyInterpreterView *view)
{
	struct tls *t = enter(F_GUARD_FROM_VIEW);
	PyInterpreterGuard *r = REAL(PyInterpreterGuard * (*)(PyInterpreterView *), PyInterpreterGuard_FromView)(view);
	leave(t, F_GUARD_FROM_VIEW, r == NULL);
	return r;
}
#endif
