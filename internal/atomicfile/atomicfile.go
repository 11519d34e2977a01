// Package atomicfile is the one way shutdownfuzz writes a file that a
// person may read or keep: reports, campaign state and summaries, corpus
// and crasher files.
//
// The guarantee, for Create and Replace alike:
//
//   - path is at every moment absent, its old content or the complete new
//     content, never a partial file: the data goes to a temporary file in
//     path's directory, which is fsynced and then moved into place, and the
//     directory is fsynced after the move (so a crash right after the call
//     keeps the new name);
//   - Create never replaces an existing file: it fails with an error
//     wrapping fs.ErrExist and leaves the file as it was. Only Replace,
//     which a caller uses when the user asked for it (-force) or for a file
//     the program owns (a campaign's state.json), overwrites;
//   - the temporary file is removed before Create or Replace returns,
//     whether it succeeds or fails. A process killed mid-write leaves one
//     named "." + the file's name + decimal digits, the naming of
//     github.com/google/renameio/v2, which does the temporary file and the
//     fsynced rename; RemoveTemps deletes those.
//
// Create moves the file into place with a hard link, which the operating
// system refuses over an existing name, so two writers racing for one
// name cannot both win. On a file system without hard links it falls back
// to checking the name and renaming, where such a race is possible.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Perm is the permission of the files written (before the umask).
const Perm fs.FileMode = 0o644

// Create writes data to path, which must not exist (see the package
// guarantee). It fails with an error wrapping fs.ErrExist if it does.
func Create(path string, data []byte) error {
	return write(path, data, false)
}

// Replace writes data to path, replacing the file there if any (see the
// package guarantee).
func Replace(path string, data []byte) error {
	return write(path, data, true)
}

// Write is Create, or Replace when overwrite is true.
func Write(path string, data []byte, overwrite bool) error {
	return write(path, data, overwrite)
}

func write(path string, data []byte, overwrite bool) (err error) {
	if !overwrite && exists(path) {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	p, err := newPending(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := p.cleanup(); err == nil && cerr != nil && !errors.Is(cerr, fs.ErrNotExist) {
			err = cerr
		}
	}()
	if _, err := p.Write(data); err != nil {
		return err
	}
	if overwrite {
		err = p.replace()
	} else {
		err = p.link()
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// linkInto gives the synced, closed temporary file tmp the name path,
// failing if path exists.
func linkInto(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// No hard links here: check, then rename (racy, see the package doc).
	if exists(path) {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	return os.Rename(tmp, path)
}

// syncDir fsyncs a directory so that a new or replaced name in it is
// durable. File systems that cannot sync a directory are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) && !isUnsupported(err) {
		return err
	}
	return nil
}

// RemoveTemps deletes the temporary files a killed writer left in dir for
// target names matching the glob pattern (filepath.Match, "*.scn",
// "state.json"): names "." + target + decimal digits. It returns how many
// it removed.
func RemoveTemps(dir, pattern string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		target, ok := TempTarget(e.Name())
		if !ok || e.IsDir() {
			continue
		}
		if m, _ := filepath.Match(pattern, target); m && os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}

// TempTarget reports whether name is the name of a temporary file of this
// package, and the name of the file it was to become.
func TempTarget(name string) (string, bool) {
	if !strings.HasPrefix(name, ".") {
		return "", false
	}
	trimmed := strings.TrimRight(name, "0123456789")
	if len(trimmed) == len(name) || len(trimmed) < 2 {
		return "", false
	}
	return trimmed[1:], true
}
