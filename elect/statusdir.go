package elect

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// ourShardFile matches what the sidecar puts in --status-dir: shard files,
// and the temporary files of their atomic writes.
var (
	shardFileName = regexp.MustCompile(`^shard-(0|[1-9][0-9]*)$`)
	shardTempName = regexp.MustCompile(`^\.shard-(0|[1-9][0-9]*)\.tmp-[0-9]+$`)
)

const ownDir = "give the shard files a directory of their own: an emptyDir mounted in both containers, e.g. --status-dir /var/run/shards"

// scanStatusDir checks --status-dir without changing anything and returns
// the leftovers of an earlier run in it (shard files and temporary files
// of ours). A directory holding anything else is not ours: refused, and
// left untouched. A missing directory is fine if its parent exists.
func scanStatusDir(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, exitcode.Configf("--status-dir %q: cannot make the path absolute: %w; pass an absolute path", dir, err)
	}
	fi, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, checkParent(abs, "--status-dir")
	case err != nil:
		return nil, exitcode.Configf("--status-dir %s: cannot inspect it: %w; %s", abs, unwrapPathErr(err), ownDir)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, exitcode.Configf("--status-dir %s is a symlink; %s", abs, ownDir)
	case !fi.IsDir():
		return nil, exitcode.Configf("--status-dir %s is not a directory; %s", abs, ownDir)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, exitcode.Configf("--status-dir %s: cannot read it: %w; %s", abs, unwrapPathErr(err), ownDir)
	}
	var ours []string
	for _, e := range entries {
		path := filepath.Join(abs, e.Name())
		switch {
		case shardTempName.MatchString(e.Name()) && e.Type().IsRegular():
		case shardFileName.MatchString(e.Name()):
			if _, err := classifyPath(path, "--status-dir", shardFileContent); err != nil {
				return nil, err
			}
		default:
			return nil, exitcode.Configf("--status-dir %s holds %q, which is not ours, so the sidecar will not write beside it; %s", abs, e.Name(), ownDir)
		}
		ours = append(ours, path)
	}
	return ours, nil
}

// prepareStatusDir makes --status-dir ready before any API call: created
// if missing, an earlier run's files removed (no shard is ours yet), and
// tried for writing.
func prepareStatusDir(dir string, log *slog.Logger) error {
	stale, err := scanStatusDir(dir)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return exitcode.Configf("--status-dir %s: cannot create it: %w; %s", dir, unwrapPathErr(err), ownDir)
	}
	for _, path := range stale {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return exitcode.Configf("--status-dir: removing %s, left by an earlier run: %w; remove it by hand", path, unwrapPathErr(err))
		}
		log.Info("removed a stale file left by an earlier run", "file", path)
	}
	if step, err := probeWritable(dir, tempPattern(shardFile(dir, 0))); err != nil {
		return exitcode.Configf("--status-dir %s: cannot %s a file in it: %w; %s", dir, step, err, ownDir)
	}
	return nil
}
