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
// one: temp file, fsync, chmod 0644 (an app running as another user reads
// it), rename, fsync of the directory so the rename survives a crash.
func writeAtomic(path string, content []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("creating a temporary file beside %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(content); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", f.Name(), path, err)
	}
	syncDir(dir)
	return nil
}

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
