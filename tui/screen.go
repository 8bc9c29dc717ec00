package tui

import (
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/leader-elector/leader-elector/watch"
)

// Screen is the dashboard without a terminal: the model Run shows, fed by
// the caller and drawn as plain text at a fixed size. It exists for tests
// outside this package: those that need a real API server live in their
// own package (e2e/tuie2e), so that this package's tests need none, and
// they assert on what a user would see.
type Screen struct {
	m *model
}

// NewScreen is the dashboard for opts at width x height, reading events
// (nil when the caller applies them, or with opts.Replay).
func NewScreen(events <-chan watch.Event, opts Options, width, height int) *Screen {
	var src *source
	if events != nil && opts.Replay == nil {
		src = newSource(events)
	}
	m := newModel(src, opts, lipgloss.NewRenderer(io.Discard))
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	return &Screen{m: m}
}

// Next reads one batch from the events channel as Run does (what is
// queued, paced), applies it and returns how many events it held. open is
// false once the channel is closed (what came before the close is
// applied) or when there is no channel.
func (s *Screen) Next() (n int, open bool) {
	if s.m.src == nil {
		return 0, false
	}
	msg := s.m.src.next().(eventsMsg)
	s.m.Update(msg)
	return len(msg.events), !msg.closed
}

// Apply applies events as one batch, as if read from the channel.
func (s *Screen) Apply(events ...watch.Event) {
	s.m.Update(eventsMsg{events: events})
}

// Seek moves a replay to t (clamped to the recording), as the replay keys
// do; it does nothing without a replay.
func (s *Screen) Seek(t time.Time) {
	if s.m.replay != nil {
		s.m.seek(t)
	}
}

// Now is the dashboard's clock: the latest event applied, or the replay's
// position.
func (s *Screen) Now() time.Time { return s.m.now }

// View is the frame as Run would draw it, without escape sequences.
func (s *Screen) View() string { return ansi.Strip(s.m.View()) }
