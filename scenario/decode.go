package scenario

// The fuzz encoding.
//
// Decode maps every byte string to a valid scenario, so that a
// coverage-guided fuzzer can mutate bytes and still get a scenario that
// means something. Each field is one byte (or a few) read in order; a read
// past the end gives 0, so any prefix decodes and zero bytes decode to the
// smallest choice. Numbers are taken modulo the size of their range, so a
// mutated byte still picks something. The structure comes first and the
// strings last, so that editing a name does not shift the structure.
//
//	header    presets    n = b%3, then n bytes: fuzzPreset(b), code b of
//	                     fuzzPresets (every release, the releases on either
//	                     side of each change inside a branch, the platforms
//	                     and debug); a byte past the codes is taken modulo
//	                     21, the number of codes the decoder once had;
//	                     a preset drawn twice is named once, and a second
//	                     release replaces the first
//	          policy     b%6: 0 none, else Policies[b-1]
//	          callback   b%32: below 27 none, else Callbacks[b-27]
//	          threads    n = b%5 thread blocks besides main, then n kind
//	                     bytes: b%3 is thread, daemon, foreign, and
//	                     c = (b/3)%4 the copies: 0 a plain block, else
//	                     NAME[c] (so at most 12 threads besides main)
//	          atexit     b%3 blocks
//	          teardown   b%3 blocks
//	          after_finalize  b%3 blocks
//	bodies    main, the thread blocks (one body for all the copies of a
//	          replicated one), atexit, teardown, after_finalize blocks
//	schedule  kind byte k: 255 no schedule line (Schedule nil, which runs
//	          as random 0), else by k%8: 0-3 stream, 4-5 replay, 6 random,
//	          7 pct;
//	          stream: n = b%65, then n bytes, one choice each
//	          replay: n = b%65, then n bytes: b%(threads+1), counting
//	                  every copy
//	          random: seed, 8 bytes little-endian
//	          pct:    depth 1+b, then seed as for random
//	strings   the scenario name (b%65 bytes; printable UTF-8 is kept,
//	          "fuzz" if nothing is left), 4 thread names, 4 object names,
//	          2 lock names, 2 event names (each b%33 bytes; the bytes of
//	          [A-Za-z0-9_] are kept, and a name that is then empty, starts
//	          with a digit or is taken becomes t1..t4, o0..o3, L0..L1 or
//	          E0..E1, made unique with a _2, _3... suffix), 4 print texts
//	          (b%65 bytes, printable UTF-8, tab and newline kept)
//
// A body is a count byte, b%33 statements, capped so that the scenario has
// at most 64 statements in all, then the statements. A statement is an op
// byte, fuzzOps[b%31] (yield first, so that zeros decode to yields), then
// its operands:
//
//	spawn                            b: thread block (b&127)%blocks; bit 7 nowait
//	join                             b: thread block b%blocks
//	                                 (a replicated block is named as a whole)
//	new local publish incref decref  b: object slot b%4
//	  use guard hold
//	lock, unlock / set, wait, until  b: lock / event slot b%2
//	print                            b: text slot b%4; bit 7 flush
//	work, loop                       b: count 1 + b%8
//	exit                             b: the exit code
//	native                           b: bit 0 noexcept, bit 1 catchall, bit 2 nounwind
//	cleanup                          b: bit 0 unwind
//	if, park, atthreadexit           none (atthreadexit native has a code
//	                                 of its own, 37: Modifier.Code)
//
// then, for native, cleanup, loop, forever, until and atthreadexit, a body,
// and for if two (then and else), except at depth 5 (the statements of a
// thread's body are at depth 1, so blocks nest at most 4 deep, as in
// forever { native { cleanup { loop 2 { ... } } } }), where the blocks are
// empty and no count byte is read.
//
// What the bytes say is fixed up rather than rejected: hold outside a
// native frame is use; cleanup outside one is a plain native; exit outside
// main, or inside native, is yield; spawn and join with no threads are
// yield, and so is spawn in after_finalize; park outside a thread's body,
// or inside atthreadexit, is yield; atthreadexit outside a thread's body,
// or inside another, is loop 1; and the first use of an object that
// nothing creates becomes its new. Decode never produces expect lines.
//
// Encode writes the canonical bytes of a scenario within these bounds:
// object, lock, event and text slots are numbered in order of first use,
// unused name slots are empty, and trailing zero bytes are dropped.

import (
	"encoding/binary"
)

// The decoder's bounds.
const (
	fuzzThreads  = 4  // thread blocks besides main
	fuzzCopies   = 3  // copies of a replicated thread block
	fuzzStmts    = 64 // statements in all, nested ones included
	fuzzBody     = 32 // statements in one body
	fuzzDepth    = 5  // statement depth: a body's statements are at depth 1, so 4 nested blocks
	fuzzCount    = 8  // work and loop counts
	fuzzBlocks   = 2  // atexit blocks, and teardown blocks
	fuzzPresetN  = 2  // presets on the preset line
	fuzzChoices  = 64
	fuzzPCTDepth = 256
	fuzzObjects  = 4
	fuzzLocks    = 2
	fuzzEvents   = 2
	fuzzTexts    = 4
	fuzzGuards   = 2  // interpreter guards (PEP 788), named after the texts
	fuzzNameLen  = 32 // bytes in a thread, object, lock or event name
	fuzzTextLen  = 64 // bytes in the scenario name or a print text

	noSchedule          = 255
	defaultScenarioName = "fuzz"
	scheduleKinds       = 8
)

var (
	// fuzzPresetCodes are the fixed preset codes: stored fuzz inputs hold
	// them (fuzz/testdata, the fuzzers' caches). Codes 0..20 are what
	// Releases drew for 3.8..3.14 (each Branch's Drawn, oldest branch
	// first), then the Facets; code 21 is cpython-3.15, appended with its
	// branch and copied here when 3.11.1 became a change inside 3.11, so
	// that 3.11.0 and 3.11.1 take the next codes (see fuzzPreset). They
	// stay as written whatever the table becomes: never edit, reorder or
	// remove an entry (appending is the one change allowed).
	fuzzPresetCodes = [...]string{
		"cpython-3.8", "cpython-3.9", "cpython-3.10", "cpython-3.10.7", "cpython-3.10.8",
		"cpython-3.11", "cpython-3.11.5", "cpython-3.11.6", "cpython-3.12", "cpython-3.12.0",
		"cpython-3.12.1", "cpython-3.12.2", "cpython-3.12.3", "cpython-3.13", "cpython-3.13.7",
		"cpython-3.13.8", "cpython-3.14", "posix", "windows", "glibc", "debug",
		"cpython-3.15",
	}
	// fuzzPresets are the presets the decoder draws, by code: the fixed
	// codes, then every release Releases draws that they lack (a newer
	// branch's Drawn), in table order. A branch appended to Releases thus
	// appends its names and moves no code; see fuzzPreset for the bytes.
	fuzzPresets = appendDrawn(fuzzPresetCodes[:])
	// Callback byte values b%32 from callbackBase on name Callbacks.
	callbackBase    = 32 - len(Callbacks)
	fuzzThreadKinds = [...]ThreadKind{Thread, Daemon, Foreign}
	// The schedule kind of k%8.
	fuzzScheduleKinds = [scheduleKinds]ScheduleKind{
		ScheduleStream, ScheduleStream, ScheduleStream, ScheduleStream,
		ScheduleReplay, ScheduleReplay, ScheduleRandom, SchedulePCT,
	}
)

// name spaces of the string table
type nameSpace uint8

const (
	spaceThread nameSpace = iota
	spaceObject
	spaceLock
	spaceEvent
	spaceText
	spaceGuard
)

// nameRef is a statement operand that names a slot of the string table.
type nameRef struct {
	st    *Stmt
	space nameSpace
	slot  int
}

type decoder struct {
	data   []byte
	pos    int
	budget int           // statements still allowed
	blocks []*ThreadDecl // thread blocks besides main: a plain one, or the first copy
	refs   []nameRef
	minor  int // the release drawn, 3.minor: statements of later releases fall back
}

func (d *decoder) next() byte {
	if d.pos >= len(d.data) {
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return b
}

// take returns the next n bytes, or as many as are left.
func (d *decoder) take(n int) []byte {
	n = min(n, len(d.data)-d.pos)
	if n <= 0 {
		return nil
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b
}

// Decode maps any byte string to a scenario that passes Validate. It is
// deterministic and total, never panics, and stays within small bounds (see
// the format above). Schedule is nil only when the bytes say "no schedule".
func Decode(data []byte) *Scenario {
	d := &decoder{data: data, budget: fuzzStmts}
	s := &Scenario{}
	for range int(d.next()) % (fuzzPresetN + 1) {
		s.Presets = addPreset(s.Presets, fuzzPreset(d.next()))
	}
	d.minor = ReleaseMinor(s.Presets)
	if i := int(d.next()) % (len(Policies) + 1); i > 0 {
		s.Policy = Policies[i-1]
	}
	if i := int(d.next()) % 32; i >= callbackBase {
		s.Callback = Callbacks[i-callbackBase]
	}
	for range int(d.next()) % (fuzzThreads + 1) {
		b := int(d.next())
		td := &ThreadDecl{Kind: fuzzThreadKinds[b%len(fuzzThreadKinds)], Copies: b / 3 % (fuzzCopies + 1)}
		d.blocks = append(d.blocks, td)
	}
	natexit := int(d.next()) % (fuzzBlocks + 1)
	nteardown := int(d.next()) % (fuzzBlocks + 1)
	nafter := int(d.next()) % (fuzzBlocks + 1)

	main := &ThreadDecl{Kind: Main, Name: "main", Body: d.body(context{owner: ownerMain}, 1)}
	for _, td := range d.blocks {
		td.Body = d.body(context{owner: ownerThread}, 1)
	}
	for range natexit {
		s.Atexit = append(s.Atexit, &Block{Body: d.body(context{owner: ownerAtexit}, 1)})
	}
	for range nteardown {
		s.Teardown = append(s.Teardown, &Block{Body: d.body(context{owner: ownerTeardown}, 1)})
	}
	for range nafter {
		s.AfterFinalize = append(s.AfterFinalize, &Block{Body: d.body(context{owner: ownerAfterFinalize}, 1)})
	}
	s.Schedule = d.schedule(1 + copies(d.blocks))
	s.Threads = append([]*ThreadDecl{main}, d.blocks...)
	d.strings(s)
	createUsedObjects(s)
	// Replicate last, so that every copy gets the fixed-up body.
	s.Threads = append([]*ThreadDecl{main}, expand(d.blocks)...)
	return s
}

// copies returns the number of threads the blocks stand for.
func copies(blocks []*ThreadDecl) int {
	n := 0
	for _, td := range blocks {
		n += max(td.Copies, 1)
	}
	return n
}

func (d *decoder) body(c context, depth int) []*Stmt {
	n := min(int(d.next())%(fuzzBody+1), d.budget)
	d.budget -= n
	var body []*Stmt
	for range n {
		body = append(body, d.stmt(c, depth))
	}
	return body
}

func (d *decoder) ref(st *Stmt, space nameSpace, slot int) {
	d.refs = append(d.refs, nameRef{st, space, slot})
}

// stmt decodes one statement as its row of Syntaxes says: the op's code,
// the operand (modifiers packed into it, see operand), a misplaced
// statement replaced by its row's Fallback, then its blocks.
func (d *decoder) stmt(c context, depth int) *Stmt {
	syn, mod := d.op()
	st := &Stmt{Op: syn.Op}
	if mod != nil {
		*mod.Flag(st) = true
	}
	d.operand(st, syn, c)
	if syn.place != nil && syn.place(c) != "" || syn.tooOld(d.minor) != "" {
		d.fallback(st, syn)
	}
	if fin := syntaxOf(st.Op); fin.Body && depth < fuzzDepth {
		inner := c.inside(st.Op)
		st.Body = d.body(inner, depth+1)
		if fin.Else {
			st.Else = d.body(inner, depth+1)
		}
	}
	return st
}

// op reads a statement's code: one byte b, code b%legacyCodes, or, for
// b == extendedCode, legacyCodes plus the next byte. Codes no statement
// has decode as yield. A modifier's own code (Modifier.Code) gives its row
// and the modifier.
func (d *decoder) op() (*Syntax, *Modifier) {
	code := int(d.next())
	if code == extendedCode {
		code = legacyCodes + int(d.next())
	} else {
		code %= legacyCodes
	}
	if c, ok := byCode[code]; ok {
		return c.syn, c.mod
	}
	return syntaxOf(OpYield), nil
}

// operand reads a statement's operand byte: a slot of the string table
// (a thread block, an object, lock or event, a print text), a count or an
// exit code. A statement with modifiers has them in the operand byte from
// bit 7 down (the slot is read from the bits below them), or, without an
// operand, in a byte of their own from bit 0 up. A spawn or join with no
// thread block to name, and a spawn in after_finalize, become yield.
func (d *decoder) operand(st *Stmt, syn *Syntax, c context) {
	mods := syn.packed()
	if syn.Arg == ArgNone {
		if len(mods) > 0 {
			b := d.next()
			for i, m := range mods {
				*m.Flag(st) = b&(1<<i) != 0
			}
		}
		return
	}
	b := int(d.next())
	for i, m := range mods {
		*m.Flag(st) = b&(128>>i) != 0
	}
	slot := b & (0xff >> len(mods))
	switch syn.Arg {
	case ArgThread:
		if len(d.blocks) == 0 {
			st.Op, st.Nowait = OpYield, false
			return
		}
		d.ref(st, spaceThread, slot%len(d.blocks))
	case ArgObject:
		d.ref(st, spaceObject, slot%fuzzObjects)
	case ArgLock:
		d.ref(st, spaceLock, slot%fuzzLocks)
	case ArgEvent:
		d.ref(st, spaceEvent, slot%fuzzEvents)
	case ArgText:
		d.ref(st, spaceText, slot%fuzzTexts)
	case ArgGuard:
		d.ref(st, spaceGuard, slot%fuzzGuards)
	case ArgCount:
		st.N = 1 + slot%fuzzCount
	case ArgCode:
		st.N = slot
	}
}

// fallback replaces st, a misplaced statement of row syn, with its row's
// Fallback: the modifiers and operand the fallback does not have are
// dropped, and a count becomes 1.
func (d *decoder) fallback(st *Stmt, syn *Syntax) {
	for _, m := range syn.Modifiers {
		*m.Flag(st) = false
	}
	st.Op = syn.Fallback
	to := syntaxOf(st.Op)
	switch {
	case to.Arg == ArgCount && syn.Arg != ArgCount:
		st.N = 1
	case !to.Arg.Number():
		st.N = 0
	}
	if n := len(d.refs); !to.Arg.Named() && n > 0 && d.refs[n-1].st == st {
		d.refs = d.refs[:n-1]
	}
}

// schedule reads the schedule; nthr counts the threads, main included.
func (d *decoder) schedule(nthr int) *Schedule {
	k := d.next()
	if k == noSchedule {
		return nil
	}
	sch := &Schedule{Kind: fuzzScheduleKinds[k%scheduleKinds]}
	switch sch.Kind {
	case ScheduleStream, ScheduleReplay:
		n := int(d.next()) % (fuzzChoices + 1)
		sch.Choices = make([]int, n)
		for i := range sch.Choices {
			c := int(d.next())
			if sch.Kind == ScheduleReplay {
				c %= nthr
			}
			sch.Choices[i] = c
		}
	case SchedulePCT:
		sch.Depth = 1 + int(d.next())
		sch.Seed = d.seed()
	case ScheduleRandom:
		sch.Seed = d.seed()
	}
	return sch
}

func (d *decoder) seed() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = d.next()
	}
	return binary.LittleEndian.Uint64(b[:])
}

// createUsedObjects turns the first use of each object that no new or local
// creates into its new.
func createUsedObjects(s *Scenario) {
	created := map[string]bool{}
	for _, body := range s.Bodies() {
		Walk(body, func(st *Stmt) {
			if st.Op == OpNew || st.Op == OpLocal {
				created[st.Name] = true
			}
		})
	}
	for _, body := range s.Bodies() {
		Walk(body, func(st *Stmt) {
			if usesObject(st.Op) && !created[st.Name] {
				st.Op = OpNew
				created[st.Name] = true
			}
		})
	}
}

func usesObject(op Op) bool {
	syn := syntaxOf(op)
	return syn.Arg == ArgObject && !syn.Creates
}

// addPreset adds a drawn preset to a preset line as a person would write
// it: a preset already on the line is not named twice, and a second
// release replaces the first (the later one is what LookupPreset would
// use anyway).
func addPreset(line []string, p string) []string {
	_, _, release := PresetVersion(p)
	for i, q := range line {
		if _, _, other := PresetVersion(q); q == p || release && other {
			line[i] = p
			return line
		}
	}
	return append(line, p)
}

// appendDrawn returns codes followed by every release that Releases draws
// (Branch.Drawn) and codes lacks, in table order.
func appendDrawn(codes []string) []string {
	out := append([]string(nil), codes...)
	for _, b := range Releases {
		for _, n := range b.Drawn() {
			if index(out, n) < 0 {
				out = append(out, n)
			}
		}
	}
	return out
}

// fuzzPresetAliases is the modulus of a preset byte past the codes: the
// number of codes when the decoder drew fuzzPresets[b%len(fuzzPresets)]
// with 21 presets. It never changes.
const fuzzPresetAliases = 21

// fuzzPreset is the preset of byte b.
//
// The stability rule: a code once given never changes its preset, and an
// alias changes only when a new code takes its byte. Bytes below
// len(fuzzPresets) are codes and name their entry (Encode writes only
// these); a byte at or past it is an alias, taken modulo
// fuzzPresetAliases, which is what every byte meant when the decoder drew
// b%21 (so that all 256 bytes decode exactly as they did then). A release
// appended to Releases takes the next code, so the only byte whose meaning
// changes is that code, an alias until then: byte 21 is cpython-3.8 today
// and becomes cpython-3.15. Encode never wrote it, and TestDecodedGolden
// shows any stored input that drew it.
//
// appendDrawn lists new names in table order, so a change added later
// inside a branch that already has codes (3.13.Z, say) appends cleanly
// only while no newer branch has appended names: otherwise, first copy
// fuzzPresets' names past the fixed codes onto the end of fuzzPresetCodes,
// so that the new names go after them.
func fuzzPreset(b byte) string {
	if int(b) < len(fuzzPresets) {
		return fuzzPresets[b]
	}
	return fuzzPresets[int(b)%fuzzPresetAliases]
}

// FuzzPresets returns the presets the fuzz decoder draws (a copy).
func FuzzPresets() []string { return append([]string(nil), fuzzPresets[:]...) }
