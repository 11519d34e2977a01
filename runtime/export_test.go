package runtime

import "github.com/shutdownfuzz/shutdownfuzz/scenario"

// HasSemantics reports whether the model registered semantics for op.
func HasSemantics(op scenario.Op) bool { return semantics[op] != nil }
