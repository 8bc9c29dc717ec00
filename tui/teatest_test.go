package tui

import (
	"bytes"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/leader-elector/leader-elector/watch"
)

// waitOutput waits until the program has drawn every string in want. It
// reads output drawn since the last call only, and the renderer redraws
// changed lines only: strings drawn in one frame must be awaited together.
func waitOutput(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestInteraction runs the real program (events through the channel
// reader, keys through the terminal input) and checks the final model.
func TestInteraction(t *testing.T) {
	ch := make(chan watch.Event, 64)
	opts := Options{Namespace: "default", Context: "kind-dev", Clock: clocktesting.NewFakePassiveClock(t0)}
	m := newModel(newSource(ch), opts, lipgloss.DefaultRenderer())
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))

	a := held("default", "alpha", "pod-a", time.Minute, time.Second, 1)
	b := held("default", "bravo", "pod-b", time.Minute, time.Second, 2)
	ch <- added(a)
	ch <- added(b)
	ch <- watch.Event{Type: watch.EventSynced, Time: t0}
	waitOutput(t, tm, "bravo", "connected")

	tm.Type("j")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitOutput(t, tm, "Lease default/bravo")

	// A change of holder while the detail is open shows in its history.
	bToC := b
	bToC.Holder, bToC.Transitions = "pod-c", 3
	ch <- watch.Event{Type: watch.EventTransition, Time: t0, Lease: bToC, From: "pod-b", To: "pod-c", Gap: 1500 * time.Millisecond, GapFrom: watch.GapFromRenewal}
	waitOutput(t, tm, "pod-b -> pod-c  gap 1.5s")

	tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	tm.Type("/alp")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	waitOutput(t, tm, "filter: alp")
	tm.Type("s")
	tm.Type("q")

	final, ok := tm.FinalModel(t, teatest.WithFinalTimeout(20*time.Second)).(*Model)
	if !ok {
		t.Fatalf("final model is %T", final)
	}
	if final.screen != screenTable || final.filterText != "alp" || final.sortBy != sortStatus {
		t.Errorf("screen %v filter %q sort %v, want table, alp, status", final.screen, final.filterText, final.sortBy)
	}
	if got := visibleKeys(final); len(got) != 1 || got[0] != "default/alpha" {
		t.Errorf("rows %v, want only default/alpha", got)
	}
	if r := final.store.rows["default/bravo"]; r == nil || r.holder != "pod-c" || len(r.history) != 1 {
		t.Errorf("bravo %+v, want held by pod-c with one transition in its history", r)
	}
	if final.conn.state != "connected" || final.width != 80 || final.height != 24 {
		t.Errorf("conn %q size %dx%d, want connected 80x24", final.conn.state, final.width, final.height)
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
