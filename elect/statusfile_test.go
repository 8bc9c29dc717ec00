package elect

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/leader-elector/leader-elector/internal/exitcode"
)

func TestClassifyStatusPath(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the path to check
		want    pathState
		wantErr string
	}{
		{"missing", func(t *testing.T, dir string) string { return filepath.Join(dir, "status") }, pathMissing, ""},
		{"stale identity of ours", func(t *testing.T, dir string) string {
			return write(t, filepath.Join(dir, "status"), "pod-0")
		}, pathStale, ""},
		{"stale identity of another name", func(t *testing.T, dir string) string {
			return write(t, filepath.Join(dir, "status"), "old-pod-name")
		}, pathStale, ""},
		{"directory (emptyDir at the path)", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "leader_status")
			os.Mkdir(p, 0o755)
			return p
		}, 0, "is a directory (an emptyDir mounted at the file's own path?); mount an emptyDir on a directory"},
		{"symlink to elsewhere", func(t *testing.T, dir string) string {
			target := write(t, filepath.Join(dir, "target"), "pod-0")
			p := filepath.Join(dir, "status")
			os.Symlink(target, p)
			return p
		}, 0, "is a symlink"},
		{"dangling symlink", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "status")
			os.Symlink(filepath.Join(dir, "nowhere"), p)
			return p
		}, 0, "is a symlink"},
		{"large file", func(t *testing.T, dir string) string {
			return write(t, filepath.Join(dir, "status"), strings.Repeat("x", MaxIdentityLen+1))
		}, 0, "too many for an identity"},
		{"empty file", func(t *testing.T, dir string) string {
			return write(t, filepath.Join(dir, "status"), "")
		}, 0, "something other than an identity"},
		{"two lines", func(t *testing.T, dir string) string {
			return write(t, filepath.Join(dir, "status"), "pod-0\n")
		}, 0, "something other than an identity"},
		{"binary content", func(t *testing.T, dir string) string {
			return write(t, filepath.Join(dir, "status"), "\x00\x01\x02")
		}, 0, "something other than an identity"},
		{"fifo", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "status")
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("no fifo support:", err)
			}
			return p
		}, 0, "not a regular file"},
		{"parent missing", func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", "status") }, 0, "does not exist"},
		{"parent is a regular file", func(t *testing.T, dir string) string {
			f := write(t, filepath.Join(dir, "file"), "x")
			return filepath.Join(f, "status")
		}, 0, "a parent of it is a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t, t.TempDir())
			before, _ := os.Lstat(path)
			got, err := classifyPath(path, "--status-file", identityContent)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("classifyPath = %v, %v; want %v, nil", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("classifyPath error = %v, want it to contain %q", err, tt.wantErr)
			}
			var coded *exitcode.Error
			if !errors.As(err, &coded) || coded.Code != exitcode.Config {
				t.Errorf("error %v is not a configuration error", err)
			}
			// prepareFile must leave it exactly as it was.
			if err := prepareFile(path, "--status-file", identityContent, slog.New(slog.DiscardHandler)); err == nil {
				t.Fatalf("prepareFile accepted what classifyPath refused")
			}
			after, _ := os.Lstat(path)
			if (before == nil) != (after == nil) || (before != nil && (before.Mode() != after.Mode() || before.Size() != after.Size())) {
				t.Errorf("the path was changed: before %v, after %v", before, after)
			}
		})
	}
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// prepareFile removes a stale file of ours and an interrupted write's
// leftovers, and proves the directory takes new files.
func TestPrepareFileRemovesStale(t *testing.T) {
	dir := t.TempDir()
	path := write(t, filepath.Join(dir, "leader_status"), "pod-0")
	leftover := write(t, filepath.Join(dir, ".leader_status.tmp-123"), "pod")
	other := write(t, filepath.Join(dir, "unrelated"), "keep me")
	if err := prepareFile(path, "--status-file", identityContent, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, leftover} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("an unrelated file was removed: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after the probe, want only the unrelated file", len(entries))
	}
}
