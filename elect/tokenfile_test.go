package elect

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/elect/endpoints"
	"github.com/leader-elector/leader-elector/elect/leadership"
	"github.com/leader-elector/leader-elector/internal/exitcode"
)

// --token-file is checked as --status-file is: its own path, and nothing at
// it that the sidecar did not write. What is refused is left untouched and
// reported as a configuration error (exit 2) whose line names the fix.
func TestValidateTokenFile(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, c *Config) // sets c.TokenFile, may put something there
		want      string                        // substring of the error; "" = valid
		wantStale bool                          // valid, and prepareFile removes what is there
	}{
		{"off", func(*testing.T, *Config) {}, "", false},
		{"beside the status file", func(t *testing.T, c *Config) { c.TokenFile = beside(c, "token") }, "", false},
		{"a stale token of ours", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "4711\n")
		}, "", true},
		{"the largest token", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "18446744073709551615\n")
		}, "", true},
		{"the status file's path", func(t *testing.T, c *Config) { c.TokenFile = c.StatusFile }, "--token-file and --status-file are the same path", false},
		{"the status file's path, spelled otherwise", func(t *testing.T, c *Config) {
			c.TokenFile = filepath.Join(filepath.Dir(c.StatusFile), ".", "status")
		}, "--token-file and --status-file are the same path", false},
		{"the leader file's path", func(t *testing.T, c *Config) {
			c.LeaderFile = beside(c, "leader")
			c.TokenFile = c.LeaderFile
		}, "--token-file and --leader-file are the same path", false},
		{"a directory", func(t *testing.T, c *Config) {
			c.TokenFile = beside(c, "token")
			os.Mkdir(c.TokenFile, 0o755)
		}, "is a directory", false},
		{"a symlink", func(t *testing.T, c *Config) {
			target := write(t, beside(c, "target"), "1\n")
			c.TokenFile = beside(c, "token")
			os.Symlink(target, c.TokenFile)
		}, "is a symlink", false},
		{"a fifo", func(t *testing.T, c *Config) {
			c.TokenFile = beside(c, "token")
			if err := syscall.Mkfifo(c.TokenFile, 0o644); err != nil {
				t.Skip("no fifo support:", err)
			}
		}, "not a regular file", false},
		{"too large for a token", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), strings.Repeat("1", 22)+"\n")
		}, "too many for a fencing token", false},
		{"an identity, not a token", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "pod-0")
		}, "holds something other than a fencing token", false},
		{"a token without its newline", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "4711")
		}, "does not end with a newline", false},
		{"an empty file", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "")
		}, "holds something other than a fencing token", false},
		{"a bare newline", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "\n")
		}, "it holds no number", false},
		{"a negative number", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "-1\n")
		}, "not a decimal number", false},
		{"beyond 64 bits", func(t *testing.T, c *Config) {
			c.TokenFile = write(t, beside(c, "token"), "18446744073709551616\n")
		}, "not a decimal number", false},
		{"its directory is missing", func(t *testing.T, c *Config) { c.TokenFile = beside(c, "missing/token") }, "does not exist", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.setup(t, &c)
			var before os.FileInfo
			if c.TokenFile != "" {
				before, _ = os.Lstat(c.TokenFile)
			}
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if c.TokenFile == "" {
					return
				}
				if err := prepareFile(c.TokenFile, "--token-file", tokenContent, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatalf("prepareFile: %v", err)
				}
				if _, err := os.Lstat(c.TokenFile); tt.wantStale && err == nil {
					t.Errorf("the stale token file of an earlier run is still there")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "--token-file") {
				t.Errorf("the error %q does not name --token-file", err)
			}
			var coded *exitcode.Error
			if !errors.As(err, &coded) || coded.Code != exitcode.Config {
				t.Errorf("error %v is not a configuration error (exit 2)", err)
			}
			if before != nil {
				prepareFile(c.TokenFile, "--token-file", tokenContent, slog.New(slog.DiscardHandler))
				after, _ := os.Lstat(c.TokenFile)
				if after == nil || after.Mode() != before.Mode() || after.Size() != before.Size() {
					t.Errorf("what was at the path was changed: before %v, after %v", before, after)
				}
			}
		})
	}
}

func beside(c *Config, name string) string { return filepath.Join(filepath.Dir(c.StatusFile), name) }

// The token file is what tokenContent accepts: a round trip.
func TestTokenLineIsOurs(t *testing.T) {
	for _, tok := range []uint64{0, 1, 4711, 1<<64 - 1} {
		line := tokenLine(tok)
		if err := checkTokenLine(string(line)); err != nil || int64(len(line)) > maxTokenLine {
			t.Errorf("tokenLine(%d) = %q: refused as ours (%v) or longer than %d", tok, line, err, maxTokenLine)
		}
	}
}

// orderedDisk records, in order, which paths became visible and which were
// removed.
type orderedDisk struct{ events []string }

func (d *orderedDisk) stage(path string, content []byte) (stagedFile, error) {
	return orderedFile{d, path, string(content)}, nil
}
func (d *orderedDisk) remove(path string) error {
	d.events = append(d.events, "remove "+path)
	return nil
}

type orderedFile struct {
	d             *orderedDisk
	path, content string
}

func (f orderedFile) commit() error {
	f.d.events = append(f.d.events, "show "+f.path+" "+strings.TrimSuffix(f.content, "\n"))
	return nil
}
func (orderedFile) discard() {}
func (orderedFile) syncDir() {}

// The token file appears before the status file and goes after it, so an
// app that sees the status file finds the token beside it.
func TestTokenFileBracketsTheStatusFile(t *testing.T) {
	h := &scriptHost{now: time.Second}
	disk := &orderedDisk{}
	cfg := Config{LeaseName: "l", Namespace: "ns", Identity: "me", StatusFile: "/run/leader/status", TokenFile: "/run/leader/token",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}
	d := newDriver(cfg, slog.New(slog.DiscardHandler), h, API{}, ports{files: disk, procs: &worldProcs{}, out: quietSink{}})
	d.do(leadership.ShowFile{Term: 1, Until: 3 * time.Second, Token: 4711})
	h.runInOrder()
	d.do(leadership.HideFile{Term: 1})
	h.runInOrder()
	want := []string{"show /run/leader/token 4711", "show /run/leader/status me", "remove /run/leader/status", "remove /run/leader/token"}
	if strings.Join(disk.events, "; ") != strings.Join(want, "; ") {
		t.Errorf("the files went\n  %s\nwant\n  %s", strings.Join(disk.events, "; "), strings.Join(want, "; "))
	}
	wantReports := []leadership.Input{leadership.FileShown{Term: 1, OK: true}, leadership.FileHidden{Term: 1}}
	if len(h.reports) != 2 || h.reports[0] != wantReports[0] || h.reports[1] != wantReports[1] {
		t.Errorf("reports %v, want %v", h.reports, wantReports)
	}
}

// A term that ends before its files were shown shows neither.
func TestEndedTermShowsNoTokenFile(t *testing.T) {
	h := &scriptHost{now: time.Second}
	disk := &orderedDisk{}
	cfg := Config{LeaseName: "l", Namespace: "ns", Identity: "me", StatusFile: "/s", TokenFile: "/t",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}
	d := newDriver(cfg, slog.New(slog.DiscardHandler), h, API{}, ports{files: disk, procs: &worldProcs{}, out: quietSink{}})
	d.do(leadership.ShowFile{Term: 1, Until: 3 * time.Second, Token: 9})
	d.do(leadership.HideFile{Term: 1})
	h.runLastFirst()
	for _, e := range disk.events {
		if strings.HasPrefix(e, "show ") {
			t.Errorf("an ended term showed a file: %v", disk.events)
		}
	}
}

// /leader shows a token only while this replica leads: a state that is not
// leading says 0 whatever the machine's Publish carried.
func TestPublishedTokenOnlyWhileLeading(t *testing.T) {
	for _, tt := range []struct {
		p    leadership.Publish
		want uint64
	}{
		{leadership.Publish{Term: 1, Leading: true, Token: 4711}, 4711},
		{leadership.Publish{Term: 1, Leading: false, Token: 4711}, 0},
		{leadership.Publish{Term: 0, Leading: false}, 0},
	} {
		srv := endpoints.New(endpoints.Options{LeaseName: "l", Identity: "me"})
		(&serverSink{srv: srv, cfg: Config{Identity: "me"}}).publish(tt.p)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/leader", nil))
		var got struct {
			Token *uint64 `json:"token"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Token == nil {
			t.Fatalf("/leader = %s (%v), want a token key", rec.Body.Bytes(), err)
		}
		if *got.Token != tt.want {
			t.Errorf("after %+v /leader says token %d, want %d", tt.p, *got.Token, tt.want)
		}
	}
}
