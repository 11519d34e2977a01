package exhaustive

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"

	"github.com/shutdownfuzz/shutdownfuzz/runtime"
)

// The search's memory: the visited set (fingerprints, or exact keys with
// Options.ExactKeys), the nodes and their edges. All three are shared by
// the workers.

// node is a state: 12 bytes, plus 8 per edge in the edge store.
type node struct {
	parent int32  // the state the search found this one from; -1 for the initial state
	first  uint32 // index of its first edge in the edge store
	via    uint16 // the thread chosen at parent
	n      uint16 // edges: one per runnable thread, in increasing thread order
}

// edge is the transition of one runnable thread. Its target is a state
// (>= 0), a terminal outcome (terminal), or unexplored.
type edge struct {
	thread int32
	to     int32
}

// unexplored marks a transition the search has not executed (only an
// incomplete search leaves any).
const unexplored = math.MinInt32

// defectIssues lists the issues of runtime.Defects once each, for the
// terminal codes.
var defectIssues = func() []string {
	var out []string
	for _, d := range runtime.Defects {
		if !slices.Contains(out, d.Issue) {
			out = append(out, d.Issue)
		}
	}
	return out
}()

// terminal encodes a transition that ended the run in outcome o, made by
// CPython defect d ("" for none), as a negative edge target.
func terminal(o runtime.Outcome, d string) (int32, bool) {
	oi := slices.Index(runtime.Outcomes, o)
	di := 0
	if d != "" {
		di = slices.Index(defectIssues, d) + 1
	}
	if oi < 0 || di < 0 {
		return 0, false
	}
	return int32(-1 - (oi*(len(defectIssues)+1) + di)), true
}

// outcomeOf decodes a terminal target.
func outcomeOf(to int32) (runtime.Outcome, string) {
	c := int(-1 - to)
	o, di := runtime.Outcomes[c/(len(defectIssues)+1)], c%(len(defectIssues)+1)
	if di == 0 {
		return o, ""
	}
	return o, defectIssues[di-1]
}

func isTerminal(to int32) bool { return to < 0 && to != unexplored }

// chunkBits sets the size of the chunks of a chunked store: small, as a
// matrix runs hundreds of searches of a few thousand states each (a chunk
// of nodes takes 12 KB), and a large search only has more of them.
const chunkBits = 10

// chunked is a growing array that workers may read and write while it
// grows: the elements live in fixed chunks that never move, reached
// through a table that is replaced (copy on write) when it grows.
type chunked[T any] struct {
	mu    sync.Mutex
	table atomic.Pointer[[]*[1 << chunkBits]T]
}

// at returns element i; grow(i) must have returned before.
func (c *chunked[T]) at(i int64) *T {
	t := *c.table.Load()
	return &t[i>>chunkBits][i&(1<<chunkBits-1)]
}

// grow makes room for the elements up to i.
func (c *chunked[T]) grow(i int64) {
	if t := c.table.Load(); t != nil && i>>chunkBits < int64(len(*t)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var t []*[1 << chunkBits]T
	if old := c.table.Load(); old != nil {
		t = *old
	}
	if i>>chunkBits < int64(len(t)) {
		return
	}
	// Readers hold the table they loaded and read only its first len(t)
	// entries, so the new chunks may go in the spare capacity of the same
	// array (each one is written before the table that holds it is
	// published).
	for int64(len(t)) <= i>>chunkBits {
		t = append(t, new([1 << chunkBits]T))
	}
	c.table.Store(&t)
}

// shardBits sets the number of shards of the visited set.
const shardBits = 8

// visited maps the states seen to their ids, in shards chosen by the
// key's fingerprint, each with its own lock.
type visited struct {
	exact  bool
	shards [1 << shardBits]shard
}

type shard struct {
	mu    sync.Mutex
	fp    map[uint64]int32 // fingerprint -> state
	exact map[string]int32 // key -> state, with Options.ExactKeys
	_     [40]byte         // a cache line per shard
}

// newVisited returns an empty set; a shard's map is made by its first
// insert (a search of a few states touches few of the 256).
func newVisited(exact bool) *visited {
	return &visited{exact: exact}
}

// find returns the state of key, if it was seen.
func (v *visited) find(key []byte) (int32, bool) {
	h := xxhash.Sum64(key)
	sh := &v.shards[h>>(64-shardBits)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if v.exact {
		id, ok := sh.exact[string(key)]
		return id, ok
	}
	id, ok := sh.fp[h]
	return id, ok
}

// insert returns the state of key if it was seen (isNew false); else it
// calls add, under the shard's lock so that no other worker adds the same
// state, and records the id add returns unless it is negative (the
// search is full).
func (v *visited) insert(key []byte, add func() int32) (id int32, isNew bool) {
	h := xxhash.Sum64(key)
	sh := &v.shards[h>>(64-shardBits)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var ok bool
	if v.exact {
		id, ok = sh.exact[string(key)]
	} else {
		id, ok = sh.fp[h]
	}
	if ok {
		return id, false
	}
	if id = add(); id < 0 {
		return id, true
	}
	switch {
	case v.exact && sh.exact == nil:
		sh.exact = map[string]int32{string(key): id}
	case v.exact:
		sh.exact[string(key)] = id
	case sh.fp == nil:
		sh.fp = map[uint64]int32{h: id}
	default:
		sh.fp[h] = id
	}
	return id, true
}
