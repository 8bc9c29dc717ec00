package elect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// rightMount is the pod spec that works, quoted in every error about the
// status file's place: the original documented an emptyDir mounted AT the
// file's path, which makes the path a directory.
const rightMount = "mount an emptyDir on a directory (e.g. /var/run/leader) in both the sidecar and the app container and pass --status-file /var/run/leader/status"

// fileContent is what a file of ours holds, so that a file found at its
// path at start can be told ours (a crash's leftover, removed) or not
// (refused, left untouched).
type fileContent struct {
	what  string             // "an identity", in messages
	max   int64              // more bytes than this cannot be ours
	check func(string) error // nil: the content is one of ours
}

// identityContent is the status and leader files': one identity, no newline.
var identityContent = fileContent{what: "an identity", max: MaxIdentityLen, check: checkIdentity}

// tokenContent is the token file's: a fencing token in decimal and a
// newline (tokenLine).
var tokenContent = fileContent{what: "a fencing token", max: maxTokenLine, check: checkTokenLine}

// maxTokenLine is the longest token file: 20 digits (the largest uint64)
// and the newline.
const maxTokenLine = 21

// tokenLine is the token file's content.
func tokenLine(token uint64) []byte {
	return append(strconv.AppendUint(nil, token, 10), '\n')
}

// checkTokenLine says why s is not a token file's content.
func checkTokenLine(s string) error {
	digits, ok := strings.CutSuffix(s, "\n")
	switch {
	case !ok:
		return errors.New("it does not end with a newline")
	case digits == "":
		return errors.New("it holds no number")
	}
	if _, err := strconv.ParseUint(digits, 10, 64); err != nil {
		return fmt.Errorf("%q is not a decimal number of 64 bits", truncate(digits, 24))
	}
	return nil
}

// pathState is what lies at a status or leader file's path at start.
type pathState int

const (
	pathMissing pathState = iota // nothing there: fine
	pathStale                    // a small regular file holding what we write: ours, from a crash
)

// checkPath classifies what lies at path without changing anything. Only
// pathMissing and pathStale are acceptable; anything else is a
// configuration error naming the fix, and the path is left untouched.
func checkPath(path, flag string, c fileContent) error {
	_, err := classifyPath(path, flag, c)
	return err
}

func classifyPath(path, flag string, c fileContent) (pathState, error) {
	if !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			return 0, exitcode.Configf("%s %q: cannot make the path absolute: %w; pass an absolute path", flag, path, err)
		}
		path = abs
	}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return pathMissing, checkParent(path, flag)
	case errors.Is(err, syscall.ENOTDIR):
		return 0, exitcode.Configf("%s %s: a parent of it is a file, not a directory; %s", flag, path, rightMount)
	case err != nil:
		return 0, exitcode.Configf("%s %s: cannot inspect it: %w; %s", flag, path, unwrapPathErr(err), rightMount)
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		return 0, exitcode.Configf("%s %s is a directory (an emptyDir mounted at the file's own path?); %s", flag, path, rightMount)
	case mode&fs.ModeSymlink != 0:
		return 0, exitcode.Configf("%s %s is a symlink; the sidecar only replaces a regular file it wrote: remove the link or %s", flag, path, rightMount)
	case !mode.IsRegular():
		return 0, exitcode.Configf("%s %s is not a regular file (%v); remove it or pass another path", flag, path, mode.Type())
	case fi.Size() > c.max:
		return 0, exitcode.Configf("%s %s holds %d bytes, too many for %s, so it is not ours; remove it or pass another path", flag, path, fi.Size(), c.what)
	}
	content, err := readSmall(path, c.max)
	if err != nil {
		return 0, exitcode.Configf("%s %s: cannot read it: %w; remove it or pass another path", flag, path, unwrapPathErr(err))
	}
	if err := c.check(string(content)); err != nil {
		return 0, exitcode.Configf("%s %s holds something other than %s (%w), so it is not ours; remove it or pass another path", flag, path, c.what, err)
	}
	return pathStale, nil
}

// checkParent requires the file's directory to exist and be a directory.
func checkParent(path, flag string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return exitcode.Configf("%s %s: directory %s does not exist; %s", flag, path, dir, rightMount)
	case errors.Is(err, syscall.ENOTDIR):
		return exitcode.Configf("%s %s: a parent of it is a file, not a directory; %s", flag, path, rightMount)
	case err != nil:
		return exitcode.Configf("%s %s: cannot inspect directory %s: %w; %s", flag, path, dir, unwrapPathErr(err), rightMount)
	case !fi.IsDir():
		return exitcode.Configf("%s %s: %s is not a directory; %s", flag, path, dir, rightMount)
	}
	return nil
}

// readSmall reads a file that Lstat said was small and regular, refusing to
// follow a symlink swapped in meanwhile.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max+1))
}

// prepareFile makes path ready at start, before any API call: a stale file
// of ours is removed, leftovers of an interrupted atomic write too, and the
// directory must accept a new file (root ignores permission bits, so only
// trying tells: a read-only mount, a full disk).
func prepareFile(path, flag string, c fileContent, log *slog.Logger) error {
	state, err := classifyPath(path, flag, c)
	if err != nil {
		return err
	}
	if state == pathStale {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return exitcode.Configf("%s %s: removing the stale file a previous run left: %w; remove it by hand", flag, path, unwrapPathErr(err))
		}
		log.Info("removed a stale file left by an earlier run", "file", path)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	for _, l := range leftovers {
		os.Remove(l)
	}
	if step, err := probeWritable(filepath.Dir(path), tempPattern(path)); err != nil {
		return exitcode.Configf("%s %s: cannot %s a file in %s: %w; %s", flag, path, step, filepath.Dir(path), err, rightMount)
	}
	return nil
}

// probeWritable creates a file in dir and removes it again: root ignores
// permission bits, so only trying tells whether the directory takes new
// files (a read-only mount, a full disk). step names the one that failed.
func probeWritable(dir, pattern string) (step string, err error) {
	probe, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "create", unwrapPathErr(err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return "remove", unwrapPathErr(err)
	}
	return "", nil
}

// unwrapPathErr drops the *fs.PathError's own copy of the path, which the
// caller's message already names.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
