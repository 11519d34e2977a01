package scenario

// The fuzz encoder: the inverse of Decode (see the format in decode.go).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// ErrOutOfBounds is wrapped by Encode's errors for a valid scenario that
// the fuzz decoder cannot express (too many threads or statements, counts
// too large, nesting too deep...).
var ErrOutOfBounds = errors.New("scenario out of the fuzz decoder's bounds")

// Encode returns bytes that Decode maps back to s: Decode(Encode(s)) is
// Equal to s once s's expect lines are dropped. Encode is canonical:
// scenarios that are Equal (expect lines aside) encode to the same bytes.
// It returns Validate's error for an invalid scenario, and an error wrapping
// ErrOutOfBounds for a valid one that the decoder cannot express.
func Encode(s *Scenario) ([]byte, error) {
	if err := Validate(s); err != nil {
		return nil, err
	}
	e := &encoder{threads: map[string]int{}}
	if err := e.scenario(s); err != nil {
		return nil, err
	}
	return bytes.TrimRight(e.buf, "\x00"), nil
}

type encoder struct {
	buf                                   []byte
	stmts                                 int
	threads                               map[string]int // index in blocks, by name (a replicated block's NAME)
	blocks                                []*ThreadDecl  // thread blocks besides main, a replicated one by its first copy
	objects, locks, events, texts, guards []string       // string table slots, in order of first use
}

func outOfBounds(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrOutOfBounds, fmt.Sprintf(format, args...))
}

func (e *encoder) put(b ...byte) { e.buf = append(e.buf, b...) }

func (e *encoder) scenario(s *Scenario) error {
	if len(s.Presets) > fuzzPresetN {
		return outOfBounds("%d presets (max %d)", len(s.Presets), fuzzPresetN)
	}
	e.put(byte(len(s.Presets)))
	for _, p := range s.Presets {
		i := index(fuzzPresets[:], p)
		if i < 0 {
			return outOfBounds("preset %s is not one the decoder draws", p)
		}
		e.put(byte(i))
	}
	e.put(byte(index(Policies, s.Policy) + 1)) // 0 for none
	if s.Callback == "" {
		e.put(0)
	} else {
		e.put(byte(callbackBase + index(Callbacks, s.Callback)))
	}
	if err := e.threadBlocks(s); err != nil {
		return err
	}
	if len(s.Atexit) > fuzzBlocks || len(s.Teardown) > fuzzBlocks || len(s.AfterFinalize) > fuzzBlocks {
		return outOfBounds("%d atexit, %d teardown and %d after_finalize blocks (max %d each)",
			len(s.Atexit), len(s.Teardown), len(s.AfterFinalize), fuzzBlocks)
	}
	e.put(byte(len(s.Atexit)), byte(len(s.Teardown)), byte(len(s.AfterFinalize)))
	bodies := [][]*Stmt{s.Threads[0].Body}
	for _, t := range e.blocks {
		bodies = append(bodies, t.Body)
	}
	for _, blk := range slices.Concat(s.Atexit, s.Teardown, s.AfterFinalize) {
		bodies = append(bodies, blk.Body)
	}
	for _, body := range bodies {
		if err := e.body(body, 1); err != nil {
			return err
		}
	}
	if err := e.schedule(s.Schedule, len(s.Threads)-1); err != nil {
		return err
	}
	return e.strings(s)
}

// threadBlocks writes the thread blocks besides main (a replicated block
// once, by its first copy) and numbers them for spawn and join.
func (e *encoder) threadBlocks(s *Scenario) error {
	for _, t := range s.Threads[1:] {
		if t.Group != "" && t.Name != t.Group+"0" {
			continue
		}
		name := t.Name
		if t.Group != "" {
			name = t.Group
		}
		if len(name) > fuzzNameLen {
			return outOfBounds("thread name %q longer than %d bytes", name, fuzzNameLen)
		}
		if t.Copies > fuzzCopies {
			return outOfBounds("%s[%d] (max %d copies)", t.Group, t.Copies, fuzzCopies)
		}
		e.threads[name] = len(e.blocks)
		e.blocks = append(e.blocks, t)
	}
	if len(e.blocks) > fuzzThreads {
		return outOfBounds("%d thread blocks besides main (max %d)", len(e.blocks), fuzzThreads)
	}
	e.put(byte(len(e.blocks)))
	for _, t := range e.blocks {
		e.put(byte(t.Kind-Thread) + 3*byte(t.Copies))
	}
	return nil
}

// index returns the position of x in list, or -1.
func index(list []string, x string) int {
	for i, y := range list {
		if y == x {
			return i
		}
	}
	return -1
}

func (e *encoder) body(body []*Stmt, depth int) error {
	if len(body) > fuzzBody {
		return outOfBounds("a body of %d statements (max %d)", len(body), fuzzBody)
	}
	if e.stmts += len(body); e.stmts > fuzzStmts {
		return outOfBounds("more than %d statements", fuzzStmts)
	}
	e.put(byte(len(body)))
	for _, st := range body {
		if err := e.stmt(st, depth); err != nil {
			return err
		}
	}
	return nil
}

// stmt writes a statement as decoder.stmt reads it: its code, its
// operand byte (modifiers packed into it) and its blocks.
func (e *encoder) stmt(st *Stmt, depth int) error {
	syn := syntaxOf(st.Op)
	code := syn.Code
	for _, m := range syn.Modifiers {
		if m.Code != 0 && *m.Flag(st) {
			code = m.Code
		}
	}
	if code < legacyCodes {
		e.put(byte(code))
	} else {
		e.put(extendedCode, byte(code-legacyCodes))
	}
	if err := e.operand(st, syn); err != nil || !syn.Body {
		return err
	}
	if depth < fuzzDepth {
		if err := e.body(st.Body, depth+1); err != nil || !syn.Else {
			return err
		}
		return e.body(st.Else, depth+1)
	}
	if len(st.Body) > 0 || len(st.Else) > 0 {
		return outOfBounds("more than %d nested blocks", fuzzDepth-1)
	}
	return nil
}

// operand writes a statement's operand byte with its modifiers from bit 7
// down, or, without an operand, its modifiers in a byte from bit 0 up.
func (e *encoder) operand(st *Stmt, syn *Syntax) error {
	var mods byte
	packed := syn.packed()
	for i, m := range packed {
		if syn.Arg == ArgNone {
			mods |= bit(*m.Flag(st), 1<<i)
		} else {
			mods |= bit(*m.Flag(st), 128>>i)
		}
	}
	var err error
	switch syn.Arg {
	case ArgNone:
		if len(packed) > 0 {
			e.put(mods)
		}
		return nil
	case ArgThread:
		i, ok := e.threads[st.Name]
		if !ok {
			return outOfBounds("%s %s names one copy of a replicated block", st.Op, st.Name)
		}
		e.put(byte(i))
	case ArgObject:
		err = e.name(&e.objects, fuzzObjects, "objects", st.Name)
	case ArgLock:
		err = e.name(&e.locks, fuzzLocks, "locks", st.Name)
	case ArgEvent:
		err = e.name(&e.events, fuzzEvents, "events", st.Name)
	case ArgGuard:
		err = e.name(&e.guards, fuzzGuards, "guards", st.Name)
	case ArgText:
		if len(st.Text) > fuzzTextLen || sanitizeText([]byte(st.Text)) != st.Text {
			return outOfBounds("print text %q is longer than %d bytes or not printable", st.Text, fuzzTextLen)
		}
		err = e.slot(&e.texts, fuzzTexts, "print texts", st.Text)
	case ArgCount:
		if st.N > fuzzCount {
			return outOfBounds("%s %d (max %d)", st.Op, st.N, fuzzCount)
		}
		e.put(byte(st.N - 1))
	case ArgCode:
		e.put(byte(st.N))
	}
	if err == nil {
		e.buf[len(e.buf)-1] |= mods
	}
	return err
}

// bit returns b if on, else 0.
func bit(on bool, b byte) byte {
	if on {
		return b
	}
	return 0
}

// name writes the slot of an object, lock or event name.
func (e *encoder) name(table *[]string, max int, what, name string) error {
	if len(name) > fuzzNameLen {
		return outOfBounds("name %q longer than %d bytes", name, fuzzNameLen)
	}
	return e.slot(table, max, what, name)
}

// slot writes the slot of s in table, adding s if it is new. Callers have
// checked that s fits a slot.
func (e *encoder) slot(table *[]string, max int, what, s string) error {
	i := index(*table, s)
	if i < 0 {
		if len(*table) == max {
			return outOfBounds("more than %d %s", max, what)
		}
		i = len(*table)
		*table = append(*table, s)
	}
	e.put(byte(i))
	return nil
}

func (e *encoder) schedule(sch *Schedule, nthr int) error {
	if sch == nil {
		e.put(noSchedule)
		return nil
	}
	for k, kind := range fuzzScheduleKinds {
		if kind == sch.Kind {
			e.put(byte(k))
			break
		}
	}
	switch sch.Kind {
	case ScheduleStream, ScheduleReplay:
		if len(sch.Choices) > fuzzChoices {
			return outOfBounds("%d schedule choices (max %d)", len(sch.Choices), fuzzChoices)
		}
		e.put(byte(len(sch.Choices)))
		for _, c := range sch.Choices {
			if sch.Kind == ScheduleReplay && c > nthr {
				return outOfBounds("replay choice %d names no thread", c)
			}
			e.put(byte(c))
		}
	case SchedulePCT:
		if sch.Depth > fuzzPCTDepth {
			return outOfBounds("pct depth %d (max %d)", sch.Depth, fuzzPCTDepth)
		}
		e.put(byte(sch.Depth - 1))
		e.buf = binary.LittleEndian.AppendUint64(e.buf, sch.Seed)
	case ScheduleRandom:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, sch.Seed)
	}
	return nil
}

func (e *encoder) strings(s *Scenario) error {
	if len(s.Name) > fuzzTextLen || sanitizeText([]byte(s.Name)) != s.Name {
		return outOfBounds("scenario name %q is longer than %d bytes or not printable", s.Name, fuzzTextLen)
	}
	if s.Name == defaultScenarioName {
		e.putString("")
	} else {
		e.putString(s.Name)
	}
	for i := range fuzzThreads {
		switch {
		case i < len(e.blocks) && e.blocks[i].Group != "":
			e.putString(e.blocks[i].Group)
		case i < len(e.blocks):
			e.putString(e.blocks[i].Name)
		default:
			e.putString("")
		}
	}
	for _, table := range []struct {
		names []string
		n     int
	}{{e.objects, fuzzObjects}, {e.locks, fuzzLocks}, {e.events, fuzzEvents}, {e.texts, fuzzTexts}, {e.guards, fuzzGuards}} {
		for i := range table.n {
			if i < len(table.names) {
				e.putString(table.names[i])
			} else {
				e.putString("")
			}
		}
	}
	return nil
}

func (e *encoder) putString(s string) {
	e.put(byte(len(s)))
	e.buf = append(e.buf, s...)
}
