//go:build !windows

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
)

// pending is renameio's temporary file, created in path's directory.
type pending struct {
	*renameio.PendingFile
	path string
}

func newPending(path string) (*pending, error) {
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithPermissions(Perm))
	if err != nil {
		return nil, err
	}
	return &pending{f, path}, nil
}

// replace fsyncs, closes and renames the temporary file over path.
func (p *pending) replace() error { return p.CloseAtomicallyReplace() }

// link fsyncs and closes the temporary file and links it to path, which
// must not exist; cleanup then removes the temporary name.
func (p *pending) link() error {
	if err := p.Sync(); err != nil {
		return err
	}
	if err := p.File.Close(); err != nil {
		return err
	}
	return linkInto(p.Name(), p.path)
}

// cleanup removes the temporary file unless it was renamed into place.
// Closing an already closed file is not an error here.
func (p *pending) cleanup() error {
	if err := p.Cleanup(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}
