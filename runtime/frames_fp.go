//go:build amd64 || arm64

package runtime

import "unsafe"

// getfp returns the frame pointer of its caller (frames_amd64.s,
// frames_arm64.s).
func getfp() unsafe.Pointer

// framePCs fills buf with the return addresses of the calling goroutine's
// frames, from its caller outwards, and returns how many it wrote (len(buf)
// when buf is too short). It follows the frame pointers, as the Go
// runtime's execution tracer does, instead of unwinding with the PC
// tables: the same return addresses as runtime.Callers gives for the
// physical frames (Callers also lists inlined calls, and leaves out
// wrappers), at a fraction of the cost. keyCheck, in tests, checks that
// the two tell the same positions apart.
//
//go:noinline
func framePCs(buf []uintptr) int {
	fp := getfp()
	n := 0
	for fp != nil && n < len(buf) {
		buf[n] = *(*uintptr)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0))))
		fp = *(*unsafe.Pointer)(fp)
		n++
	}
	return n
}
