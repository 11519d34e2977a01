//go:build !amd64 && !arm64

package runtime

import goruntime "runtime"

// framePCs fills buf with the return addresses of the calling goroutine's
// frames from its caller outwards (runtime.Callers, where Go keeps no
// frame pointers).
func framePCs(buf []uintptr) int { return goruntime.Callers(2, buf) }
