package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/leader-elector/leader-elector/watch"
)

// probed wraps the model so a test can read the screen as the program
// has it: a probe message is answered on the program's own goroutine, so
// reading the live model is race-free. This is sturdier than searching the
// byte stream, where the renderer redraws changed lines only.
type probed struct{ *model }

// probeMsg asks for the current screen, escapes stripped.
type probeMsg chan string

func (p probed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if q, ok := msg.(probeMsg); ok {
		q <- ansi.Strip(p.model.View())
		return p, nil
	}
	_, cmd := p.model.Update(msg)
	return p, cmd
}

// startProgram runs m as a real program at w x h.
func startProgram(t *testing.T, m *model, w, h int) *teatest.TestModel {
	return teatest.NewTestModel(t, probed{m}, teatest.WithInitialTermSize(w, h))
}

// finalModel quits the program and returns its model.
func finalModel(t *testing.T, tm *teatest.TestModel) *model {
	t.Helper()
	tm.Type("q")
	p, ok := tm.FinalModel(t, teatest.WithFinalTimeout(20*time.Second)).(probed)
	if !ok {
		t.Fatalf("final model is %T", p)
	}
	return p.model
}

// waitScreen waits until the screen holds every string in want, and
// returns it.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		q := make(probeMsg, 1)
		tm.Send(q)
		select {
		case screen = <-q:
		case <-time.After(5 * time.Second):
			t.Fatal("the program did not answer a probe in 5s")
		}
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(screen, w)
		}
		if !missing {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("after 30s the screen lacks one of %q:\n%s", want, screen)
	return ""
}

// TestInteraction runs the real program (events through the channel
// reader, keys through the terminal input) and checks the final model.
func TestInteraction(t *testing.T) {
	ch := make(chan watch.Event, 64)
	opts := Options{Namespace: "default", Context: "kind-dev", Clock: clocktesting.NewFakePassiveClock(t0)}
	tm := startProgram(t, newModel(newSource(ch), opts, lipgloss.DefaultRenderer()), 80, 24)

	a := held("default", "alpha", "pod-a", time.Minute, time.Second, 1)
	b := held("default", "bravo", "pod-b", time.Minute, time.Second, 2)
	ch <- added(a)
	ch <- added(b)
	ch <- watch.Event{Type: watch.EventSynced, Time: t0}
	waitScreen(t, tm, "bravo", "connected")

	tm.Type("j")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "Lease default/bravo")

	// A change of holder while the detail is open shows in its history.
	bToC := b
	bToC.Holder, bToC.Transitions = "pod-c", 3
	ch <- watch.Event{Type: watch.EventTransition, Time: t0, Lease: bToC, From: "pod-b", To: "pod-c", Gap: 1500 * time.Millisecond, GapFrom: watch.GapFromRenewal}
	waitScreen(t, tm, "pod-b -> pod-c  gap 1.5s")

	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	tm.Type("/alp")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitScreen(t, tm, "filter: alp")
	tm.Type("s")
	waitScreen(t, tm, "STATUS↓")
	final := finalModel(t, tm)
	if final.screen != screenTable || final.filter.text != "alp" || final.table.sortBy != sortStatus {
		t.Errorf("screen %v filter %q sort %v, want table, alp, status", final.screen, final.filter.text, final.table.sortBy)
	}
	if got := visibleKeys(final); len(got) != 1 || got[0] != "default/alpha" {
		t.Errorf("rows %v, want only default/alpha", got)
	}
	if r := final.table.store.rows["default/bravo"]; r == nil || r.holder != "pod-c" || len(r.history) != 1 {
		t.Errorf("bravo %+v, want held by pod-c with one transition in its history", r)
	}
	if final.links.conns[0].state != watch.ConnConnected || final.width != 80 || final.height != 24 {
		t.Errorf("conn %q size %dx%d, want connected 80x24", final.links.conns[0].state, final.width, final.height)
	}
}

// TestSourceBatches checks the pacing: everything queued comes in one
// message, and what arrives within the pacing window is gathered.
func TestSourceBatches(t *testing.T) {
	ch := make(chan watch.Event, 2000)
	for i := range 1500 {
		ch <- added(held("default", leaseName(i), "p", time.Minute, 0, 0))
	}
	s := newSource(ch)
	s.minGap = 2 * time.Second
	msg := s.next().(eventsMsg)
	if len(msg.events) != 1500 || msg.closed {
		t.Fatalf("first batch has %d events (closed %v), want all 1500 queued", len(msg.events), msg.closed)
	}
	// Within the pacing window, what arrives is gathered into one batch.
	go func() {
		for i := range 5 {
			ch <- added(held("default", leaseName(i), "q", time.Minute, 0, 0))
		}
		close(ch)
	}()
	msg = s.next().(eventsMsg)
	if len(msg.events) != 5 || !msg.closed {
		t.Errorf("second batch has %d events (closed %v), want 5 and the close", len(msg.events), msg.closed)
	}
	if msg := s.next().(eventsMsg); !msg.closed || len(msg.events) != 0 {
		t.Errorf("after close: %d events closed %v, want none and closed", len(msg.events), msg.closed)
	}
}
