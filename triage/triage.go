// Package triage files failing runs into a corpus: the one path from a
// failure to a saved crasher that minimize, import and campaign all take.
//
//   - check: the caller decides that a run failed (verdict.Check, or any
//     non-clean outcome when it hunts strictly);
//   - deduplicate: a failure is known by Key, its policy and signature;
//     Known gives the keys a corpus directory already holds;
//   - minimize and format: MakeCrasher minimizes the run (keeping the
//     policy's cause when the policy caused it, verdict.Attribute) and
//     writes it as a corpus file whose comments say how it was found;
//   - save: corpus.Save, under the content-hash name, never overwriting.
//
// Filer.File does the last three steps in order. The oracle (verdict)
// knows nothing of this package, of minimization or of the corpus.
package triage

import (
	"github.com/shutdownfuzz/shutdownfuzz/corpus"
	"github.com/shutdownfuzz/shutdownfuzz/minimize"
	"github.com/shutdownfuzz/shutdownfuzz/runtime"
	"github.com/shutdownfuzz/shutdownfuzz/scenario"
)

// Key is the deduplication key of a failing run r under policy: two runs
// with the same key are the same failure, and a corpus, an import or a
// campaign files it once.
func Key(policy string, r *runtime.Result) string {
	return policy + "|" + r.Signature()
}

// Known replays every loadable file of the corpus directory dir under the
// policies its expect lines name and returns the Key of each failure it
// shows, with the file that shows it.
func Known(dir string) (map[string]string, error) {
	entries, err := corpus.Load(dir)
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, e := range entries {
		if e.Err != nil {
			continue
		}
		checks, err := corpus.Replay(e.Scenario)
		if err != nil {
			continue
		}
		for _, c := range checks {
			if c.Result.Outcome != runtime.Clean {
				keys[Key(c.Policy, c.Result)] = e.Path
			}
		}
	}
	return keys, nil
}

// Filer files failures into the corpus directory Dir.
type Filer struct {
	Dir string
	// Known maps the Key of each failure filed already to its file. When
	// it is nil File deduplicates nothing (a file of the same content is
	// still never written twice); otherwise File skips a known key and
	// records the file of each new one.
	Known   map[string]string
	Options minimize.Options // for every minimization
}

// Filed is what File did with a failure.
type Filed struct {
	Key string
	// Dup is the file Known has for Key already; nothing else is set.
	Dup     string
	Crasher *Crasher
	Path    string // where the crasher is
	Created bool   // false when the file was there with the same content
}

// MakeError is why a failing run could not be made into a crasher (it is
// clean or inconclusive, or does not reproduce from its schedule); File
// returns it before writing anything.
type MakeError struct{ Err error }

func (e *MakeError) Error() string { return e.Err.Error() }
func (e *MakeError) Unwrap() error { return e.Err }

// File files r, a failing run of s under policy found as how says: unless
// f.Known has its Key, it makes the crasher (MakeCrasher) and saves it in
// f.Dir (corpus.Save). The error is a *MakeError when no crasher could be
// made, and the error of saving otherwise.
func (f *Filer) File(s *scenario.Scenario, policy string, r *runtime.Result, how string) (*Filed, error) {
	key := Key(policy, r)
	if prev, ok := f.Known[key]; ok {
		return &Filed{Key: key, Dup: prev}, nil
	}
	c, err := MakeCrasher(s, policy, r, how, f.Options)
	if err != nil {
		return nil, &MakeError{err}
	}
	path, created, err := corpus.Save(f.Dir, c.Name, c.Content)
	if err != nil {
		return nil, err
	}
	if f.Known != nil {
		f.Known[key] = path
	}
	return &Filed{Key: key, Crasher: c, Path: path, Created: created}, nil
}
