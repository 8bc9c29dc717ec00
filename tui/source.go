package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/watch"
)

// eventsMsg carries a batch of events, everything queued when it was read.
type eventsMsg struct {
	events []watch.Event
	closed bool // the channel is closed: the watch ended
}

// tickMsg is the time of a frame, from the model's clock.
type tickMsg time.Time

// source turns the events channel into messages, the glow way: next reads
// one batch and Update re-arms it after applying the batch. It also paces
// batches: after delivering one it keeps collecting for minGap, so at 500
// events/s the model gets about ten batches a second rather than 500
// messages (and 500 frames), and a lone event still shows at once.
type source struct {
	ch       <-chan watch.Event
	minGap   time.Duration
	maxBatch int
	last     time.Time // wall time of the last delivery (pacing only)
}

func newSource(ch <-chan watch.Event) *source {
	return &source{ch: ch, minGap: 100 * time.Millisecond, maxBatch: 20000}
}

// next blocks for one event, then gathers whatever else arrives before the
// pacing window closes. It is a tea.Cmd and runs off the UI goroutine.
func (s *source) next() tea.Msg {
	ev, ok := <-s.ch
	if !ok {
		return eventsMsg{closed: true}
	}
	batch := []watch.Event{ev}
	var deadline <-chan time.Time
	if wait := time.Until(s.last.Add(s.minGap)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	msg := eventsMsg{}
gather:
	for len(batch) < s.maxBatch {
		if deadline == nil {
			// Not pacing: take only what is already queued.
			select {
			case ev, ok := <-s.ch:
				if !ok {
					msg.closed = true
					break gather
				}
				batch = append(batch, ev)
				continue
			default:
				break gather
			}
		}
		select {
		case ev, ok := <-s.ch:
			if !ok {
				msg.closed = true
				break gather
			}
			batch = append(batch, ev)
		case <-deadline:
			deadline = nil
		}
	}
	s.last = time.Now()
	msg.events = batch
	return msg
}
