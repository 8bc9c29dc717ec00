package tui

import (
	"context"
	"sync"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/handover"
)

// HandoverFunc asks the holder of a Lease of the context contextName to
// hand it over and waits for the new holder (handover.Run on that
// context's clients), reporting each step to progress.
type HandoverFunc func(ctx context.Context, contextName, namespace, name string, progress func(handover.Progress)) (handover.Result, error)

// handoverPhase is where the H key's hand-over stands.
type handoverPhase int

const (
	handoverIdle    handoverPhase = iota
	handoverConfirm               // asking y/n
	handoverRunning               // asked; waiting for the new holder
	handoverDone                  // the result, until the next key
)

func (p handoverPhase) String() string {
	return [...]string{"idle", "confirm", "running", "done"}[p]
}

// handoverTarget is the Lease the H key was pressed on.
type handoverTarget struct {
	ctx, ns, name, holder string
}

// The messages of a running hand-over. Each carries the channel it came
// from, so that Update can ask for the next one (glow's re-armed command).
type (
	handoverStartedMsg  struct{ ch <-chan tea.Msg }
	handoverProgressMsg struct {
		p  handover.Progress
		ch <-chan tea.Msg
	}
	handoverDoneMsg struct {
		res handover.Result
		err error
	}
)

// handoverView is the H key's prompt, progress and result, shown in the
// footer. It performs no I/O: start returns the command that does.
type handoverView struct {
	c      *common
	phase  handoverPhase
	target handoverTarget
	line   string // the progress or the result
	failed bool
}

// ask opens the prompt for r.
func (v handoverView) ask(r *row) handoverView {
	v.phase = handoverConfirm
	v.target = handoverTarget{ctx: r.ctx, ns: r.lease.Namespace, name: r.lease.Name, holder: r.lease.Holder}
	v.line, v.failed = "", false
	if v.target.holder == "" {
		v.phase, v.failed = handoverDone, true
		v.line = Inert(v.target.ns+"/"+v.target.name) + " has no holder: nothing to hand over"
	}
	return v
}

// perShard answers H on a shard group's row: a hand-over moves one
// Lease, so it says how to move one shard rather than guess which.
func (v handoverView) perShard(r *row) handoverView {
	v.phase, v.failed = handoverDone, true
	v.target = handoverTarget{ctx: r.ctx, ns: r.lease.Namespace, name: r.lease.Name}
	v.line = "hand-over is per shard Lease: leader-elector handover " + r.ns + "/" + Inert(r.grp.name) + "-shard-N (enter lists them)"
	return v
}

// running says a hand-over is under way (a second one waits for it).
func (v handoverView) running() bool { return v.phase == handoverRunning }

// Update follows a running hand-over's messages.
func (v handoverView) Update(msg tea.Msg) (handoverView, tea.Cmd) {
	switch msg := msg.(type) {
	case handoverStartedMsg:
		return v, next(msg.ch)
	case handoverProgressMsg:
		if msg.p.Step == handover.StepWarning {
			v.line = "warning: " + Inert(msg.p.Message)
		} else {
			v.line = Inert(msg.p.String())
		}
		return v, next(msg.ch)
	case handoverDoneMsg:
		v.phase = handoverDone
		ref := Inert(v.target.ns + "/" + v.target.name)
		switch {
		case msg.err != nil:
			v.failed, v.line = true, "hand-over of "+ref+" failed: "+Inert(msg.err.Error())
		case msg.res.Already:
			v.line = Inert(msg.res.Holder) + " already holds " + ref
		default:
			v.line = ref + " handed over: " + Inert(msg.res.Holder) + " holds it"
		}
	}
	return v, nil
}

// View is the footer line.
func (v handoverView) View() string {
	ref := Inert(v.target.ns + "/" + v.target.name)
	switch v.phase {
	case handoverConfirm:
		where := ""
		if v.target.ctx != "" {
			where = " (context " + Inert(v.target.ctx) + ")"
		}
		return v.c.p.warn.on("Hand over "+ref+where+", held by "+Inert(v.target.holder)+"?") + " y/n"
	case handoverRunning:
		line := v.line
		if line == "" {
			line = "asking " + Inert(v.target.holder) + " to hand " + ref + " over"
		}
		return v.c.spinner() + " " + line
	case handoverDone:
		if v.failed {
			return v.c.p.warn.on(v.line)
		}
		return v.line
	}
	return ""
}

// next reads the next message of a running hand-over.
func next(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

// handovers runs the dashboard's hand-overs: each under ctx, which Run
// cancels when the dashboard ends, then waits for them (a hand-over cut
// short removes its request from the Lease first).
type handovers struct {
	ctx context.Context
	run HandoverFunc
	wg  sync.WaitGroup
}

// start is the command that runs the hand-over of t.
func (h *handovers) start(t handoverTarget) tea.Cmd {
	return func() tea.Msg {
		ch := make(chan tea.Msg, 8)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer close(ch)
			res, err := h.run(h.ctx, t.ctx, t.ns, t.name, func(p handover.Progress) {
				ch <- handoverProgressMsg{p: p, ch: ch}
			})
			ch <- handoverDoneMsg{res: res, err: err}
		}()
		return handoverStartedMsg{ch: ch}
	}
}
