package tui

import (
	"os"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/leader-elector/leader-elector/watch"
)

// t0 is the fixed "now" of every test: views are exact.
var t0 = time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)

// TestMain needs no API server: the tests that do are in e2e/tuie2e.
func TestMain(m *testing.M) {
	// Goldens are plain text in UTC whatever the machine says.
	lipgloss.SetColorProfile(termenv.Ascii)
	time.Local = time.UTC
	os.Exit(m.Run())
}

// newTestModel is a model on a fake clock at t0, sized w x h, fed by hand.
func newTestModel(t testing.TB, opts Options, w, h int) *model {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clocktesting.NewFakePassiveClock(t0)
	}
	if opts.Namespace == "" && !opts.AllNamespaces {
		opts.Namespace = "default"
	}
	if opts.Context == "" {
		opts.Context = "kind-dev"
	}
	m := newModel(nil, opts, lipgloss.DefaultRenderer())
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// send feeds msgs in order and returns the model.
func send(m *model, msgs ...tea.Msg) *model {
	for _, msg := range msgs {
		m.Update(msg)
	}
	return m
}

// events wraps events in one batch message.
func events(evs ...watch.Event) eventsMsg { return eventsMsg{events: evs} }

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// held is a Lease held by holder, acquired acquiredAgo and renewed
// renewedAgo before t0, with a 15 s duration, renewing every 2 s.
func held(ns, name, holder string, acquiredAgo, renewedAgo time.Duration, transitions int32) watch.LeaseState {
	renew := t0.Add(-renewedAgo)
	var beats []time.Time
	for i := 6; i >= 0; i-- {
		beats = append(beats, renew.Add(-time.Duration(i)*2*time.Second))
	}
	return watch.LeaseState{
		Namespace: ns, Name: name, Holder: holder,
		AcquireTime: t0.Add(-acquiredAgo), RenewTime: renew,
		LeaseDurationSeconds: 15, Transitions: transitions,
		Observed: renew, ExpiresAt: renew.Add(15 * time.Second),
		RenewInterval: 2 * time.Second, Status: watch.StatusHeld,
		Renewals: beats,
	}
}

// press is a key press message.
func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}
