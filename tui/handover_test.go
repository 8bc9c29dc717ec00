package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/leader-elector/leader-elector/handover"
)

// noHandover is a HandoverFunc for views: the tests feed its messages.
func noHandover(context.Context, string, string, string, func(handover.Progress)) (handover.Result, error) {
	return handover.Result{}, errors.New("not in views")
}

// handoverSteps are a hand-over's messages from the asking to the new
// holder, for my-controller, as handover.Run reports them.
func handoverSteps() []tea.Msg {
	ref := "default/my-controller"
	return []tea.Msg{
		handoverProgressMsg{p: handover.Progress{Step: handover.StepAsked, Holder: "my-controller-7d9f8b6c4-x2x9k", Lease: ref}},
		handoverProgressMsg{p: handover.Progress{Step: handover.StepReleased, Holder: "my-controller-7d9f8b6c4-x2x9k", Lease: ref}},
		handoverProgressMsg{p: handover.Progress{Step: handover.StepTaken, Holder: "my-controller-7d9f8b6c4-p8q2m", Lease: ref}},
		handoverDoneMsg{res: handover.Result{From: "my-controller-7d9f8b6c4-x2x9k", Holder: "my-controller-7d9f8b6c4-p8q2m"}},
	}
}

func footer(m *model) string {
	lines := strings.Split(ansi.Strip(m.View()), "\n")
	return lines[len(lines)-1]
}

// H on a Lease, then y: the command runs the HandoverFunc on that Lease,
// and its progress and result come back as messages, shown in the footer.
func TestHandoverKey(t *testing.T) {
	type call struct{ ctx, ns, name string }
	calls := make(chan call, 1)
	run := func(_ context.Context, c, ns, name string, progress func(handover.Progress)) (handover.Result, error) {
		calls <- call{c, ns, name}
		progress(handover.Progress{Step: handover.StepAsked, Holder: "my-controller-7d9f8b6c4-x2x9k", Lease: ns + "/" + name})
		progress(handover.Progress{Step: handover.StepTaken, Holder: "b", Lease: ns + "/" + name})
		return handover.Result{From: "my-controller-7d9f8b6c4-x2x9k", Holder: "b"}, nil
	}
	m := newTestModel(t, Options{Namespace: "default", Handover: run}, 120, 30)
	send(m, events(fleetIn("default")...))
	if r := m.table.selected(); r == nil || r.lease.Name != "flaky-operator" {
		t.Fatalf("selected %v, want flaky-operator first", r)
	}
	send(m, press("j")) // ghost-singleton
	send(m, press("j")) // my-controller
	m.Update(press("H"))
	if m.ho.phase != handoverConfirm || !strings.Contains(footer(m), "Hand over default/my-controller, held by my-controller-7d9f8b6c4-x2x9k? y/n") {
		t.Fatalf("phase %v, footer %q", m.ho.phase, footer(m))
	}
	_, cmd := m.Update(press("y"))
	if m.ho.phase != handoverRunning || cmd == nil {
		t.Fatalf("phase %v, cmd %v after y", m.ho.phase, cmd)
	}
	var seen []string
	for cmd != nil {
		msg := cmd()
		if msg == nil {
			break
		}
		_, cmd = m.Update(msg)
		seen = append(seen, footer(m))
	}
	if c := <-calls; c != (call{"", "default", "my-controller"}) {
		t.Errorf("ran on %+v", c)
	}
	if m.ho.phase != handoverDone || !strings.Contains(footer(m), "default/my-controller handed over: b holds it") {
		t.Errorf("phase %v, footer %q (seen %q)", m.ho.phase, footer(m), seen)
	}
	// The next key dismisses the result and does its own work.
	m.Update(press("k"))
	if m.ho.phase != handoverIdle || m.table.selected().lease.Name != "ghost-singleton" {
		t.Errorf("phase %v, selected %s after k", m.ho.phase, m.table.selected().lease.Name)
	}
}

// Anything but y at the prompt cancels, and nothing runs.
func TestHandoverCancelled(t *testing.T) {
	ran := false
	run := func(context.Context, string, string, string, func(handover.Progress)) (handover.Result, error) {
		ran = true
		return handover.Result{}, nil
	}
	m := newTestModel(t, Options{Namespace: "default", Handover: run}, 120, 30)
	send(m, events(fleetIn("default")...), press("H"))
	if _, cmd := m.Update(press("n")); cmd != nil || m.ho.phase != handoverIdle || ran {
		t.Errorf("after n: cmd %v, phase %v, ran %v", cmd != nil, m.ho.phase, ran)
	}
}

// Without a HandoverFunc (a replay, a read-only dashboard) H does nothing
// and the help does not offer it.
func TestHandoverKeyAbsent(t *testing.T) {
	m := newTestModel(t, Options{Namespace: "default"}, 120, 30)
	send(m, events(fleetIn("default")...))
	if _, cmd := m.Update(press("H")); cmd != nil || m.ho.phase != handoverIdle {
		t.Errorf("H did something: phase %v", m.ho.phase)
	}
	send(m, press("?"))
	if strings.Contains(ansi.Strip(m.View()), "hand over") {
		t.Error("the help offers H")
	}
}

// A Lease with no holder: H says so at once, and asks nothing.
func TestHandoverNoHolder(t *testing.T) {
	m := newTestModel(t, Options{AllNamespaces: true, Handover: noHandover}, 160, 48)
	send(m, events(fleet()...), press("/"), press("b"), press("a"), press("t"), press("c"), press("h"), press("enter"), press("H"))
	if m.ho.phase != handoverDone || !strings.Contains(footer(m), "payments/batch-lock has no holder") {
		t.Errorf("phase %v, footer %q", m.ho.phase, footer(m))
	}
}
