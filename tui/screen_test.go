package tui

import (
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/leader-elector/leader-elector/watch"
)

// TestScreen: the Screen that tests outside this package drive shows what
// the channel brought, says when it closed, and seeks a replay.
func TestScreen(t *testing.T) {
	ch := make(chan watch.Event, 8)
	s := NewScreen(ch, Options{Namespace: "default", Context: "kind-dev", Clock: clocktesting.NewFakePassiveClock(t0.Add(-time.Second))}, 80, 24)
	if strings.Contains(s.View(), "\x1b") {
		t.Errorf("the view holds escape sequences:\n%q", s.View())
	}
	a := held("default", "alpha", "pod-a", time.Minute, time.Second, 1)
	ch <- added(a)
	ch <- watch.Event{Type: watch.EventSynced, Time: t0}
	if n, open := s.Next(); n != 2 || !open {
		t.Fatalf("Next = %d, %v; want the 2 queued events, open", n, open)
	}
	if v := s.View(); !strings.Contains(v, "alpha") || !strings.Contains(v, "● connected") {
		t.Errorf("after the first batch the screen lacks alpha or the link:\n%s", v)
	}
	if !s.Now().Equal(t0) {
		t.Errorf("Now = %v, want the last event's time %v", s.Now(), t0)
	}
	close(ch)
	if _, open := s.Next(); open {
		t.Error("Next says open after the channel closed")
	}
	if v := s.View(); !strings.Contains(v, "watch ended") {
		t.Errorf("after the close the screen does not say the watch ended:\n%s", v)
	}

	rec := incident(t)
	r := NewScreen(nil, Options{Namespace: "kube-system", Contexts: rec.Contexts(),
		Replay: &Replay{Events: rec.Events, Start: rec.Header.Start, Speed: 1}}, 120, 30)
	if _, open := r.Next(); open {
		t.Error("Next says open on a replay: it reads no channel")
	}
	r.Seek(t0.Add(27*time.Second + 100*time.Millisecond))
	if v := r.View(); !strings.Contains(v, "cp-1 -> cp-2") {
		t.Errorf("seeked past the handover, the screen lacks it:\n%s", v)
	}
	r.Seek(t0)
	if v := r.View(); strings.Contains(v, "cp-1 -> cp-2") {
		t.Errorf("seeked back before the handover, the screen still shows it:\n%s", v)
	}
}
