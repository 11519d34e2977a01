package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// HasSemantics reports whether the model registered semantics for op.
func HasSemantics(op scenario.Op) bool { return semantics[op] != nil }

// SetKeyCheck turns on Capture's check of the frame-pointer walk against
// runtime.Callers.
func SetKeyCheck(on bool) { keyCheck.Store(on) }
