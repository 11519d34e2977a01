package runtime

import (
	"unsafe"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// HasSemantics reports whether the model registered semantics for op.
func HasSemantics(op scenario.Op) bool { return semantics[op] != nil }

// SetKeyCheck turns on Capture's check of the frame-pointer walk against
// runtime.Callers.
func SetKeyCheck(on bool) { keyCheck.Store(on) }

// SharesMemory reports whether two step-function states have an array in
// common (a copy must share none with the state it was taken from).
func SharesMemory(a, b *VMState) bool {
	arrays := func(s *VMState) []uintptr {
		var out []uintptr
		add := func(p uintptr, n int) {
			if n > 0 {
				out = append(out, p)
			}
		}
		add(arrayOf(s.locks), cap(s.locks))
		add(arrayOf(s.threads), cap(s.threads))
		add(arrayOf(s.guards), cap(s.guards))
		add(arrayOf(s.stacks), cap(s.stacks))
		add(arrayOf(s.heap.objs), cap(s.heap.objs))
		add(arrayOf(s.heap.bound), cap(s.heap.bound))
		add(arrayOf(s.heap.globals), cap(s.heap.globals))
		for _, t := range s.threads {
			add(arrayOf(t.frames), cap(t.frames))
			add(arrayOf(t.ensures), cap(t.ensures))
		}
		for _, st := range s.stacks {
			add(arrayOf(st.natives), cap(st.natives))
			add(arrayOf(st.items), cap(st.items))
			add(arrayOf(st.locals), cap(st.locals))
			add(arrayOf(st.tls), cap(st.tls))
			add(arrayOf(st.tlsSeen), cap(st.tlsSeen))
		}
		return out
	}
	seen := map[uintptr]bool{}
	for _, p := range arrays(a) {
		seen[p] = true
	}
	for _, p := range arrays(b) {
		if seen[p] {
			return true
		}
	}
	return false
}

// arrayOf is the address of the end of s's array (the start may be shared
// by a slice of zero length).
func arrayOf[T any](s []T) uintptr {
	if cap(s) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&s[:cap(s)][cap(s)-1]))
}

// StepFallsBack reports whether a run of s under cfg on the step function
// hands over to the goroutine model (runStep's fallback).
func StepFallsBack(s *scenario.Scenario, cfg Config) bool {
	_, fallback, _ := runStep(s, cfg)
	return fallback != nil
}
