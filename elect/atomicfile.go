package elect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// tempPattern names the temporary files of path's atomic writes: hidden, in
// the same directory (rename is atomic only within one file system), and
// recognisable so a crash's leftovers can be removed at start.
func tempPattern(path string) string {
	return "." + filepath.Base(path) + ".tmp-*"
}

// writeAtomic replaces path with content so that a reader sees either the
// old file, no file, or the whole new content, never an empty or partial
// one.
func writeAtomic(path string, content []byte) error {
	t, err := prepareAtomic(path, content)
	if err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		t.discard()
		return err
	}
	t.syncDir()
	return nil
}

// pendingFile is content written and synced beside its path, not yet
// visible: commit makes it visible with one rename, which is quick, so the
// status file's gate holds nothing slow.
type pendingFile struct{ tmp, path string }

// prepareAtomic does the slow part of an atomic write: temp file, write,
// fsync, chmod 0644 (an app running as another user reads it).
func prepareAtomic(path string, content []byte) (_ *pendingFile, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPattern(path))
	if err != nil {
		return nil, fmt.Errorf("creating a temporary file beside %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(content); err != nil {
		return nil, fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err = f.Sync(); err != nil {
		return nil, fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err = f.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("setting the mode of %s: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return nil, fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	return &pendingFile{tmp: f.Name(), path: path}, nil
}

// commit makes the content visible at its path.
func (p *pendingFile) commit() error {
	if err := os.Rename(p.tmp, p.path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", p.tmp, p.path, err)
	}
	return nil
}

// discard removes the temp file of a write that will not be committed.
func (p *pendingFile) discard() { os.Remove(p.tmp) }

// syncDir makes the rename durable.
func (p *pendingFile) syncDir() { syncDir(filepath.Dir(p.path)) }

// removeFile removes path; a missing file is already the wanted state.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename durable. Best effort: some file systems refuse
// fsync on a directory, and the rename itself already happened.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
