package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// pending is the temporary file on Windows, where renameio has no
// PendingFile: the same naming ("." + name + digits), os.CreateTemp.
type pending struct {
	*os.File
	path   string
	closed bool
}

func newPending(path string) (*pending, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"*")
	if err != nil {
		return nil, err
	}
	return &pending{File: f, path: path}, nil
}

func (p *pending) syncClose() error {
	if err := p.Sync(); err != nil {
		return err
	}
	p.closed = true
	return p.Close()
}

func (p *pending) replace() error {
	if err := p.syncClose(); err != nil {
		return err
	}
	return os.Rename(p.Name(), p.path)
}

func (p *pending) link() error {
	if err := p.syncClose(); err != nil {
		return err
	}
	return linkInto(p.Name(), p.path)
}

func (p *pending) cleanup() error {
	if !p.closed {
		p.Close()
	}
	if err := os.Remove(p.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func isUnsupported(err error) bool { return true }
