package tui

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/leader-elector/leader-elector/watch"
)

// terminal is the far side of a pseudo-terminal: what Run drew, as bytes.
type terminal struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	done          chan struct{}
}

func openTerminal(t *testing.T, cols, rows uint16) *terminal {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Cols: cols, Rows: rows}); err != nil {
		t.Fatalf("sizing the pseudo-terminal: %v", err)
	}
	term := &terminal{master: master, slave: slave, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { slave.Close(); master.Close(); <-term.done })
	return term
}

// waitFor waits until the terminal has received want.
func (term *terminal) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if bytes.Contains(term.bytes(), []byte(want)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q; it got %q", want, term.bytes())
}

func (term *terminal) bytes() []byte {
	term.mu.Lock()
	defer term.mu.Unlock()
	return bytes.Clone(term.out.Bytes())
}

// sgrColour matches an SGR sequence that sets a colour (30-37, 38;5;n,
// 38;2;r;g;b, 90-97 and the background forms).
var sgrColour = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-8]|9[0-7]|4[0-8])(;[0-9;]*)?m`)

// TestRunOnTerminal runs Run itself on a pseudo-terminal: the alternate
// screen, the size from the terminal, colour unless NO_COLOR, q quits with
// no error, and the terminal is given back (alternate screen left).
func TestRunOnTerminal(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noColor   bool
		wantColor bool
	}{
		{"colour", false, true},
		{"NO_COLOR", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TERM", "xterm-256color")
			t.Setenv("COLORTERM", "")
			// termenv takes any CI variable to mean "no terminal" and drops
			// colour; CI runs this test with CI=true.
			t.Setenv("CI", "")
			if tc.noColor {
				t.Setenv("NO_COLOR", "1")
			} else {
				os.Unsetenv("NO_COLOR")
			}
			term := openTerminal(t, 100, 30)
			events := make(chan watch.Event, 8)
			runErr := make(chan error, 1)
			go func() {
				runErr <- Run(context.Background(), events, Options{Namespace: "default", Input: term.slave, Output: term.slave})
			}()
			events <- added(held("default", "my-controller", "pod-a", time.Minute, 0, 1))
			events <- watch.Event{Type: watch.EventSynced, Time: time.Now()}
			term.waitFor(t, "my-controller")
			term.waitFor(t, "connected")
			quitWithQ(t, term, runErr)
			out := term.bytes()
			if !bytes.Contains(out, []byte("\x1b[?1049h")) || !bytes.Contains(out, []byte("\x1b[?1049l")) {
				t.Errorf("the alternate screen was not entered and left")
			}
			// The frame is laid out for the terminal's 100 columns.
			if !bytes.Contains(out, []byte("sort: name")) {
				t.Errorf("no status hint at the right edge: the frame was not sized from the terminal")
			}
			if got := sgrColour.Match(out); got != tc.wantColor {
				t.Errorf("colour sequences present = %v, want %v", got, tc.wantColor)
			}
		})
	}
}

// TestRunEndsWithContext checks that Run returns ctx's error when ctx ends.
func TestRunEndsWithContext(t *testing.T) {
	term := openTerminal(t, 80, 24)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, make(chan watch.Event), Options{Namespace: "default", Input: term.slave, Output: term.slave})
	}()
	term.waitFor(t, "listing Leases")
	cancel()
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestRunReplayOnTerminal plays a recording with Run on a pseudo-terminal:
// the recording's clock runs, t jumps to the handover, q quits.
func TestRunReplayOnTerminal(t *testing.T) {
	rec := incident(t)
	term := openTerminal(t, 120, 30)
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(context.Background(), nil, Options{Namespace: "kube-system", Contexts: rec.Contexts(),
			Replay: &Replay{Events: rec.Events, Start: rec.Header.Start, Speed: 1}, Input: term.slave, Output: term.slave})
	}()
	term.waitFor(t, "▶ replay 12:59:59")
	term.waitFor(t, "us-cp-1") // a second later, the recording's first events
	if _, err := term.master.Write([]byte("t")); err != nil {
		t.Fatalf("typing t: %v", err)
	}
	term.waitFor(t, "cp-1 -> cp-2")
	term.waitFor(t, "‖ paused 13:00:27.0")
	quitWithQ(t, term, runErr)
}

// quitWithQ types q and expects Run to return nil.
func quitWithQ(t *testing.T, term *terminal, runErr <-chan error) {
	t.Helper()
	if _, err := term.master.Write([]byte("q")); err != nil {
		t.Fatalf("typing q: %v", err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run after q = %v, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after q")
	}
}
