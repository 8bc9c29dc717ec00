package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/leader-elector/leader-elector/internal/exitcode"
	"github.com/leader-elector/leader-elector/watch"
)

// TestExitCodeFor: the one map from errors to the documented exit codes,
// and the one line each prints.
func TestExitCodeFor(t *testing.T) {
	var parseErr error
	{
		parser, err := newParser(&cli{}, "leader-elector", description, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		_, parseErr = parser.Parse([]string{"elect", "--lease-time=15s"})
	}
	configErr := exitcode.Configf("cannot read kubeconfig %q: %w; pass --kubeconfig with an existing file", "/k", fs.ErrNotExist)
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"success", nil, 0, ""},
		{"a usage error", parseErr, 2, "leader-elector: unknown flag --lease-time, did you mean \"--lease-name\"?; see --help\n"},
		{"a config error", configErr, 2, "leader-elector: cannot read kubeconfig \"/k\": file does not exist; pass --kubeconfig with an existing file\n"},
		{"a config error, wrapped again", fmt.Errorf("starting: %w", configErr), 2, "leader-elector: starting: cannot read kubeconfig \"/k\": file does not exist; pass --kubeconfig with an existing file\n"},
		{"a child's exit code, nothing to say", exitcode.WithCode(3, errors.New("")), 3, ""},
		{"interrupted", fmt.Errorf("watching: %w", context.Canceled), 130, ""},
		{"a runtime failure on several lines", errors.New("lost the API server:\n  dial tcp: refused\n"), 1, "leader-elector: lost the API server:; dial tcp: refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := exitCodeFor(tt.err, &stderr); code != tt.wantCode || stderr.String() != tt.wantStderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
		})
	}
}

// TestConfigErrorsKeepTheirCause: the configuration errors the command line
// builds from a failure still answer errors.Is about it.
func TestConfigErrorsKeepTheirCause(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		err  func() error
		is   error
	}{
		{"--replay of a missing file", func() error {
			return (&watchCmd{Replay: dir + "/nope.jsonl"}).runReplay(&runEnv{Ctx: context.Background()}, watchMode{})
		}, fs.ErrNotExist},
		{"--record in a missing directory", func() error {
			_, err := watch.CreateRecording(dir+"/no/rec.jsonl", watch.RecordingHeader{})
			return err
		}, fs.ErrNotExist},
		{"--log-file in a missing directory", func() error {
			_, _, _, err := (&watchCmd{LogFile: dir + "/no/log"}).openLog(nil, false)
			return err
		}, fs.ErrNotExist},
		{"no hostname for the identity", func() error {
			_, err := (&electCmd{}).complete(func() (string, error) { return "", fs.ErrPermission })
			return err
		}, fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			var coded *exitcode.Error
			if !errors.As(err, &coded) || coded.Code != exitcode.Config {
				t.Fatalf("got %v, want a config error", err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%q, %v) is false", err, tt.is)
			}
		})
	}
}

// stuckWriter is a stderr nobody reads: Write never returns.
type stuckWriter struct{}

func (stuckWriter) Write([]byte) (int, error) { select {} }

// The exit's last line gives up on a stderr nobody reads, so the process
// still exits (with the right code), and is written whole to one that is.
func TestBoundedWriter(t *testing.T) {
	var buf bytes.Buffer
	if code := exitCodeFor(errors.New("boom"), boundedWriter{w: &buf, wait: time.Second}); code != exitcode.Runtime || buf.String() != "leader-elector: boom\n" {
		t.Errorf("to a buffer: code %d, wrote %q", code, buf.String())
	}
	done := make(chan int, 1)
	go func() {
		done <- exitCodeFor(errors.New("boom"), boundedWriter{w: stuckWriter{}, wait: 50 * time.Millisecond})
	}()
	select {
	case code := <-done:
		if code != exitcode.Runtime {
			t.Errorf("to a stuck writer: code %d, want %d", code, exitcode.Runtime)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("exitCodeFor is still writing to a stuck stderr after 5s with a 50ms bound")
	}
}
