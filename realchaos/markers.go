package realchaos

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The marker table the shim writes into the file behind SFZ_SHIM_FD
// (shim/sfz_shim.c describes it; the constants and offsets here follow its
// structs).
const (
	shimMagic   = 0x314d4948535a4653 // "SFZSHIM1"
	shimLayout  = 1
	shimProcs   = 32
	shimThreads = 512
	headerSize  = 128
	slotSize    = 64
	// TableSize is the size of the file the tool passes: the header, the
	// process slots and the thread slots, rounded up.
	TableSize = 64 << 10
)

// funcNames are the shim's enum sfz_func, from 1.
var funcNames = []string{"", "PyEval_RestoreThread", "PyGILState_Ensure", "PyEval_AcquireThread",
	"PyThreadState_Ensure", "PyThreadState_EnsureFromView", "PyInterpreterGuard_FromView"}

// Thread states (enum sfz_state).
const (
	Delaying     = "delaying"      // in the wrapper, sleeping before the call
	Calling      = "calling"       // inside the real function
	Returned     = "returned"      // the real function returned
	Exited       = "exited"        // the thread exited outside any wrapped call
	ExitedInside = "exited-inside" // the thread exited inside the real function
	Refused      = "refused"       // a PEP 788 call returned NULL
)

var stateNames = []string{"", Delaying, Calling, Returned, Exited, ExitedInside, Refused}

// Proc is one process of the run that called into the shim: the embedding
// host, or a process that made a wrapped call.
type Proc struct {
	Index, PID int
	Host       bool // the embedding host started here
	Finalized  bool // Py_BytesMain returned (finalization finished)
	Status     int  // what it returned
	BeginSeq   uint64
	EndSeq     uint64
	FinSeq     uint64 // the first marker that saw the interpreter finalizing; 0: none
	Calls      uint64 // wrapped calls
	Delayed    time.Duration
	Threads    int
}

// Thread is one thread's latest marker.
type Thread struct {
	Seq      uint64
	PID, TID int
	Proc     int // Proc.Index
	// Index is the thread's number in its process: 0 for the main thread,
	// else its order of creation (t1 is the first thread the process
	// created); 100000+ for a thread not created through pthread_create.
	Index     int
	Func      string
	State     string
	FinEnter  bool // the interpreter was finalizing when the thread entered Func
	FinNow    bool // ... at its latest marker
	Refusals  int  // PEP 788 calls that returned NULL
	Calls     uint64
	Delayed   time.Duration
	LastDelay time.Duration
	EnterSeq  uint64
}

// Markers are what the shim recorded in one run.
type Markers struct {
	Procs   []Proc
	Threads []Thread
	// Lost counts threads and processes past the table's slots.
	LostThreads, LostProcs int
}

// NewTable makes the file the shim writes its markers into: a memfd of
// TableSize zero bytes, to pass as SFZ_SHIM_FD.
func NewTable() (*os.File, error) {
	fd, err := unix.MemfdCreate("sfz-shim-markers", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "sfz-shim-markers")
	if err := f.Truncate(TableSize); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadTable reads the markers from the table file after the run.
func ReadTable(f *os.File) (*Markers, error) {
	b := make([]byte, TableSize)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return ParseTable(b)
}

// ParseTable decodes a marker table. An all-zero table (no process ever
// mapped it) is no markers, not an error.
func ParseTable(b []byte) (*Markers, error) {
	le := binary.LittleEndian
	m := &Markers{}
	if len(b) < headerSize+shimProcs*slotSize+shimThreads*slotSize {
		return nil, fmt.Errorf("marker table of %d bytes is short", len(b))
	}
	switch magic := le.Uint64(b); magic {
	case 0:
		return m, nil
	case shimMagic:
	default:
		return nil, fmt.Errorf("marker table has magic %#x, not the shim's", magic)
	}
	if l := le.Uint32(b[8:]); l != shimLayout {
		return nil, fmt.Errorf("marker table layout %d, want %d (a shim of another version)", l, shimLayout)
	}
	nprocs, nthreads := int(le.Uint32(b[20:])), int(le.Uint32(b[24:]))
	m.LostProcs, m.LostThreads = max(0, nprocs-shimProcs), max(0, nthreads-shimThreads)
	for i := 0; i < min(nprocs, shimProcs); i++ {
		s := b[headerSize+i*slotSize:]
		flags := le.Uint32(s[28:])
		m.Procs = append(m.Procs, Proc{
			BeginSeq: le.Uint64(s[0:]), PID: int(le.Uint32(s[8:])), Index: int(le.Uint32(s[12:])),
			EndSeq: le.Uint64(s[16:]), Status: int(int32(le.Uint32(s[24:]))),
			Host: flags&1 != 0, Finalized: flags&2 != 0,
			FinSeq: le.Uint64(s[32:]), Calls: le.Uint64(s[40:]), Delayed: time.Duration(le.Uint64(s[48:])),
			Threads: int(le.Uint32(s[56:])),
		})
	}
	tbase := headerSize + shimProcs*slotSize
	for i := 0; i < min(nthreads, shimThreads); i++ {
		s := b[tbase+i*slotSize:]
		t := Thread{
			Seq: le.Uint64(s[0:]), PID: int(le.Uint32(s[8:])), TID: int(le.Uint32(s[12:])),
			Proc: int(le.Uint32(s[16:])), Index: int(le.Uint32(s[20:])),
			FinEnter: s[26] != 0, FinNow: s[27] != 0, Refusals: int(le.Uint32(s[28:])),
			Calls: le.Uint64(s[32:]), Delayed: time.Duration(le.Uint64(s[40:])),
			LastDelay: time.Duration(le.Uint64(s[48:])), EnterSeq: le.Uint64(s[56:]),
		}
		if int(s[24]) < len(funcNames) {
			t.Func = funcNames[s[24]]
		}
		if int(s[25]) < len(stateNames) {
			t.State = stateNames[s[25]]
		}
		if t.Seq == 0 {
			continue // a slot taken by a thread that died before its first marker
		}
		m.Threads = append(m.Threads, t)
	}
	return m, nil
}

// Hosts are the processes where the embedding host started.
func (m *Markers) Hosts() []Proc {
	var out []Proc
	for _, p := range m.Procs {
		if p.Host {
			out = append(out, p)
		}
	}
	return out
}

// Calls is the number of wrapped calls in every process.
func (m *Markers) Calls() uint64 {
	var n uint64
	for _, p := range m.Procs {
		n += p.Calls
	}
	return n
}

func (m *Markers) proc(index int) *Proc {
	for i := range m.Procs {
		if m.Procs[i].Index == index {
			return &m.Procs[i]
		}
	}
	return nil
}

// Site is where one thread was when the process ended: inside (or
// delayed before) a wrapped call, or gone out of one through pthread_exit.
type Site struct {
	Thread string // "main", "t3" (the third thread created), "p2/t3" when the run had more than one process
	Func   string
	State  string
	// When says how the call stood to finalization: WhileFinalizing,
	// BeganMeanwhile or BeforeFinalization.
	When string
}

// Site.When values.
const (
	// The thread entered the call with the finalizing flag set.
	WhileFinalizing = "entered after finalization began"
	// It entered before the flag, which a later marker saw set, or
	// finalization finished (Py_BytesMain returned) after it entered.
	BeganMeanwhile = "entered before finalization, which began during the call"
	// It entered before the flag, and the shim never saw the flag after.
	BeforeFinalization = "entered before finalization"
)

// Key is the site without the thread's name, for counting:
// "in PyGILState_Ensure (entered after finalization began)".
func (s Site) Key() string {
	verb := "in"
	switch s.State {
	case Delaying:
		verb = "delayed before"
	case ExitedInside:
		verb = "exited inside"
	}
	return verb + " " + s.Func + " (" + s.When + ")"
}

func (s Site) String() string { return s.Thread + " " + s.Key() }

// Sites are the threads that were in a wrapped call (or exited inside one)
// when the run ended, in thread order.
func (m *Markers) Sites() []Site {
	multi := len(m.Procs) > 1
	var out []Site
	ts := slices.Clone(m.Threads)
	slices.SortFunc(ts, func(a, b Thread) int {
		if a.Proc != b.Proc {
			return a.Proc - b.Proc
		}
		return a.Index - b.Index
	})
	for _, t := range ts {
		if t.State != Delaying && t.State != Calling && t.State != ExitedInside {
			continue
		}
		name := fmt.Sprintf("t%d", t.Index)
		if t.Index == 0 {
			name = "main"
		}
		if multi {
			name = fmt.Sprintf("p%d/%s", t.Proc, name)
		}
		when := BeforeFinalization
		switch p := m.proc(t.Proc); {
		case t.FinEnter:
			when = WhileFinalizing
		case p != nil && (p.FinSeq > t.EnterSeq || p.Finalized && p.EndSeq > t.EnterSeq):
			when = BeganMeanwhile
		}
		out = append(out, Site{Thread: name, Func: t.Func, State: t.State, When: when})
	}
	return out
}

// Ends counts the threads of the run by where each one ended up: the
// sites (in or delayed before a call, exited inside one), and otherwise
// "exited after F" (refused: a PEP 788 call returned NULL first) or
// "alive, outside the wrapped calls" / "alive after F refused" for threads
// that were still alive outside the wrapped calls when the process ended
// (the main thread's keys say so: it never exits before the process).
func (m *Markers) Ends() map[string]int {
	out := map[string]int{}
	for _, s := range m.Sites() {
		out[s.Key()]++
	}
	for _, t := range m.Threads {
		who := ""
		if t.Index == 0 {
			who = "main thread "
		}
		switch t.State {
		case Exited:
			k := "exited after " + t.Func
			if t.Refusals > 0 {
				k += " refused"
			}
			out[who+k]++
		case Returned:
			out[who+"alive, outside the wrapped calls (last: "+t.Func+")"]++
		case Refused:
			out[who+"alive after "+t.Func+" refused"]++
		}
	}
	return out
}

// Describe is the sites as one clause: "t1 in PyGILState_Ensure, entered
// after finalization began; t3 ...", or "" when no thread was in a wrapped
// call.
func (m *Markers) Describe() string {
	var parts []string
	for _, s := range m.Sites() {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, "; ")
}
