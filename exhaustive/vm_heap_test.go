package exhaustive_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// The generator's objects and native frames (runtime/vm_heap.go,
// runtime/vm_native.go): objects A and B created, published, held,
// DECREF'd and used by several threads; native frames with hold and
// cleanup items and modifiers, GIL releases inside them (where the
// policies strike, and the forced unwind runs their items), and spawns
// and joins that raise through them once spawns or joins are refused.

// genObjects writes main's first statements: objects created before any
// thread starts.
func genObjects(b *strings.Builder, rng *rand.Rand) {
	for _, obj := range []string{"A", "B"} {
		switch rng.IntN(5) {
		case 0, 1:
			fmt.Fprintf(b, "  new %s\n  publish %s\n", obj, obj)
		case 2:
			fmt.Fprintf(b, "  new %s\n", obj)
		case 3:
			fmt.Fprintf(b, "  local %s\n  publish %s\n", obj, obj)
		}
	}
}

// genHeap writes one object statement or native frame at depth.
func genHeap(b *strings.Builder, rng *rand.Rand, names []string, guards bool, depth int) {
	ind := strings.Repeat(" ", 2*depth-2)
	obj := []string{"A", "B"}[rng.IntN(2)]
	switch k := rng.IntN(18); {
	case k < 2:
		fmt.Fprintf(b, "%snew %s\n", ind, obj)
	case k == 2:
		fmt.Fprintf(b, "%slocal %s\n%spublish %s\n", ind, obj, ind, obj)
	case k == 3:
		fmt.Fprintf(b, "%spublish %s\n", ind, obj)
	case k == 4:
		fmt.Fprintf(b, "%sincref %s\n", ind, obj)
	case k < 7:
		fmt.Fprintf(b, "%sdecref %s\n", ind, obj)
	case k == 7:
		fmt.Fprintf(b, "%suse %s\n", ind, obj)
	case k == 8:
		fmt.Fprintf(b, "%sguard %s\n", ind, obj)
	case k == 9:
		fmt.Fprintf(b, "%sspawn %s\n", ind, names[rng.IntN(len(names))])
	case depth < 4:
		genNative(b, rng, names, guards, depth)
	default:
		fmt.Fprintf(b, "%suse %s\n", ind, obj)
	}
}

// genNative writes a native frame whose body mixes hold and cleanup items
// with other statements.
func genNative(b *strings.Builder, rng *rand.Rand, names []string, guards bool, depth int) {
	ind := strings.Repeat(" ", 2*depth-2)
	mod := []string{"", "", "", " noexcept", " catchall", " nounwind"}[rng.IntN(6)]
	fmt.Fprintf(b, "%snative%s {\n", ind, mod)
	in := ind + "  "
	for range 1 + rng.IntN(3) {
		switch rng.IntN(9) {
		case 0, 1:
			fmt.Fprintf(b, "%shold %s\n", in, []string{"A", "B"}[rng.IntN(2)])
		case 2, 3:
			fmt.Fprintf(b, "%scleanup%s {\n", in, []string{"", " unwind"}[rng.IntN(2)])
			if rng.IntN(3) == 0 {
				genHeap(b, rng, names, guards, depth+2)
			} else {
				genBody(b, rng, names, guards, depth+2, 1)
			}
			fmt.Fprintf(b, "%s}\n", in)
		case 4:
			fmt.Fprintf(b, "%srelease\n%sio\n%sacquire\n", in, in, in)
		case 5:
			fmt.Fprintf(b, "%srelease\n", in) // a GIL-less object statement
			genHeap(b, rng, names, guards, depth+1)
			fmt.Fprintf(b, "%sacquire\n", in)
		case 6:
			genHeap(b, rng, names, guards, depth+1)
		default:
			genBody(b, rng, names, guards, depth+1, 1)
		}
	}
	fmt.Fprintf(b, "%s}\n", ind)
}

// genFacet is a facet for the preset line: a posix platform (catch(...)
// swallows the forced unwind instead of aborting) or a debug build (a
// DECREF without the GIL may be a fatal error).
func genFacet(rng *rand.Rand) string {
	return []string{"", "", " posix", " debug"}[rng.IntN(4)]
}

// stepCases are scenarios that reach the rules of objects and native
// frames the generator seldom combines; TestStepFunctionAgreesOnCases
// compares each under every policy.
var stepCases = []string{
	// A raise out of a cleanup body (a spawn refused once finalizing)
	// leaves the frame's entry in the goroutine model (native returns
	// before it pops it): the next outermost frame that ends without the
	// GIL is not reported. The step function keeps the entry too.
	`preset cpython-3.14
main {
  yield
}
daemon t {
  yield
}
teardown {
  native {
    cleanup {
      spawn t
    }
  }
}
teardown {
  native {
    release
  }
  acquire
}`,
	// The forced unwind through holds and cleanups, with and without the
	// GIL, a cleanup that takes the GIL back (and meets the policy
	// again), and the modifiers.
	`preset cpython-3.11 debug
main {
  new A
  publish A
  spawn w
  spawn x
  work 2
}
daemon w {
  native {
    hold A
    cleanup {
      yield
    }
    native {
      release
      io
      acquire
    }
  }
}
daemon x {
  incref A
  native {
    hold A
    cleanup unwind {
      io
    }
    release
    io
    acquire
  }
}`,
	`preset cpython-3.13 posix
main {
  new A
  spawn w
  work 1
}
daemon w {
  native {
    cleanup {
      acquire
    }
    native catchall {
      cleanup {
        io
      }
      release
      io
      acquire
    }
  }
}
daemon x {
  native {
    cleanup unwind {
      acquire
    }
    io
  }
}`,
	`preset cpython-3.12
main {
  new A
  spawn w
  spawn x
  work 1
}
daemon w {
  native nounwind {
    hold A
    cleanup {
      io
    }
    release
    io
    acquire
  }
}
daemon x {
  native noexcept {
    cleanup unwind {
      decref A
    }
    io
  }
}`,
	// Locals freed with their thread's stack, published and used by
	// others; the globals' DECREF at "collect" after a thread's decref.
	`preset cpython-3.14
main {
  new G
  publish G
  spawn w
  wait E
}
daemon w {
  local L
  publish L
  decref G
  set E
  forever {
    io
  }
}
teardown {
  use L
}`,
	`preset cpython-3.12 debug
main {
  new A
  publish A
  spawn w
  spawn d
  work 2
  guard A
}
thread w {
  native {
    hold A
    release
    io
    acquire
  }
  incref A
  guard A
}
daemon d {
  release
  guard A
}`,
	// after_finalize's join of a thread the policy stopped: std::thread::join
	// blocks (a scheduling point) even when the target has ended.
	`preset cpython-3.11.0
main {
  spawn t
  yield
}
foreign t {
  ensure
  atthreadexit {
    work 1
  }
  unensure
}
after_finalize {
  set E
  join t
}`,
}

// TestStepFunctionAgreesOnCases: the step function and the replay search
// have the same outcomes and report kinds on stepCases.
func TestStepFunctionAgreesOnCases(t *testing.T) {
	for i, src := range stepCases {
		s, err := scenario.Parse(fmt.Sprintf("case%d.scn", i), []byte("scenario \"case\"\n"+src+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range scenario.Policies {
			ok, err := agree(s, p, 100_000)
			if err != nil {
				t.Errorf("case %d: %v", i, err)
			} else if !ok {
				t.Errorf("case %d, policy %s: not compared", i, p)
			}
		}
	}
}
