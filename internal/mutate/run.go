package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// outcome is what became of one mutant.
type outcome int

const (
	killed   outcome = iota // the suite failed
	timedOut                // the suite ran past the timeout: killed too
	survived                // the suite passed
	invalid                 // stale, or the mutant does not build: an error in the list
)

func (o outcome) String() string {
	return [...]string{"killed", "timeout", "SURVIVED", "INVALID"}[o]
}

type result struct {
	m       mutation
	outcome outcome
	by      string // the first failing test, or why it is invalid
	took    time.Duration
	output  string
}

// workspace is one copy of the module in a temporary directory; mutants
// are applied to it one at a time and undone after each.
type workspace struct {
	dir string
}

// newWorkspace copies the module's files (tracked, and untracked but not
// ignored, as they are in the work tree now) into a new temporary
// directory. The work tree itself is never written.
func newWorkspace(root string) (*workspace, error) {
	list, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return nil, fmt.Errorf("listing the module's files: %w", err)
	}
	dir, err := os.MkdirTemp("", "mutate-")
	if err != nil {
		return nil, err
	}
	w := &workspace{dir: dir}
	for _, name := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		if err := copyFile(filepath.Join(root, name), filepath.Join(dir, name)); err != nil {
			w.remove()
			return nil, err
		}
	}
	return w, nil
}

func copyFile(from, to string) error {
	fi, err := os.Lstat(from)
	if errors.Is(err, os.ErrNotExist) {
		return nil // deleted in the work tree, not yet in the index
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		return os.Symlink(target, to)
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (w *workspace) remove() { os.RemoveAll(w.dir) }

var (
	failedTest  = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)
	buildFailed = regexp.MustCompile(`\[(build|setup) failed\]`)
)

// run applies m, runs its suite and undoes m.
func (w *workspace) run(ctx context.Context, m mutation, timeout time.Duration) result {
	r := result{m: m}
	path := filepath.Join(w.dir, m.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		r.outcome, r.by = invalid, "stale: "+err.Error()
		return r
	}
	mutant, err := m.apply(string(orig))
	if err != nil {
		r.outcome, r.by = invalid, err.Error()
		return r
	}
	if err := os.WriteFile(path, []byte(mutant), 0o644); err != nil {
		r.outcome, r.by = invalid, err.Error()
		return r
	}
	defer os.WriteFile(path, orig, 0o644)

	start := time.Now()
	out, err, late := w.command(ctx, m.Command, timeout)
	r.took, r.output = time.Since(start), out
	switch {
	case late:
		r.outcome, r.by = timedOut, fmt.Sprintf("no result within %v", timeout)
	case err == nil:
		r.outcome = survived
	case buildFailed.MatchString(out):
		r.outcome, r.by = invalid, "the mutant does not build"
	default:
		r.outcome, r.by = killed, "the suite failed"
		if f := failedTest.FindStringSubmatch(out); f != nil {
			r.by = f[1]
		}
	}
	return r
}

// command runs the suite in the workspace (split on spaces, no shell) in
// a process group of its own, so a timeout or an interrupt ends the test
// binaries too. late says the timeout ended it.
func (w *workspace) command(ctx context.Context, command string, timeout time.Duration) (out string, err error, late bool) {
	args := strings.Fields(command)
	if len(args) == 0 {
		return "", errors.New("empty command"), false
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, args[0], args[1:]...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	ownGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	return buf.String(), err, errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
}
