package tui

import (
	"slices"
	"strconv"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/watch"
)

// Replay is a recording for the dashboard to play instead of a live watch.
// Reading it is the caller's job (watch.ReadRecording); the model only plays.
type Replay struct {
	// Events in recorded order, their times on the recorder's clock,
	// which becomes the dashboard's clock: countdowns and expiry are
	// judged as they were when recorded.
	Events []watch.Event
	// Start is when recording began (the header's); zero: the first event.
	Start time.Time
	// Speed is times real speed; 0 plays as fast as possible (one
	// recorded instant per frame).
	Speed float64
	// Damage, when set, says where the recording stopped being readable;
	// it is shown once the replay reaches that point.
	Damage string
}

// replaySpeeds are the speeds + and - step through; 0 is "max".
var replaySpeeds = []float64{0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 0}

// player is the replay's position and its controls: pure data, moved by
// messages. It says where the replay goes; the root applies the events.
type player struct {
	c          *common
	events     []watch.Event
	next       int       // the first event not applied yet
	at         time.Time // the replay clock
	start, end time.Time // the recording's first and last instants
	speed      float64
	paused     bool
	wall       time.Time // the wall time of the last frame (zero: none yet)
	damage     string
}

func newPlayer(c *common, r *Replay) *player {
	p := &player{c: c, events: r.Events, speed: r.Speed, start: r.Start, damage: r.Damage}
	if len(r.Events) > 0 && (p.start.IsZero() || r.Events[0].Time.Before(p.start)) {
		p.start = r.Events[0].Time
	}
	p.end = p.start
	for i := range r.Events {
		if r.Events[i].Time.After(p.end) {
			p.end = r.Events[i].Time
		}
	}
	p.at = p.start
	return p
}

// done: every event is applied and the clock reached the last instant.
func (p *player) done() bool {
	return p.next >= len(p.events) && !p.at.Before(p.end)
}

// damage is where the recording stopped being readable once the replay
// reached that point, else "".
func (m *model) damage() string {
	if m.replay != nil && m.replay.done() {
		return m.replay.damage
	}
	return ""
}

// replayTickMsg is a frame of the replay, carrying the wall time: how far
// the replay clock moves is that time since the last frame times speed.
type replayTickMsg time.Time

// replayTick asks for the next replay frame.
func (m *model) replayTick() tea.Cmd {
	return tea.Tick(tickInterval, func(t time.Time) tea.Msg { return replayTickMsg(t) })
}

// frame moves the replay clock by the wall time since the last frame:
// it returns where to play to, and false when paused or at the end.
func (p *player) frame(wall time.Time) (to time.Time, move bool) {
	elapsed := time.Duration(0)
	if !p.wall.IsZero() {
		elapsed = max(0, wall.Sub(p.wall))
	}
	p.wall = wall
	if p.paused || p.done() {
		return time.Time{}, false
	}
	if p.speed == 0 {
		return p.nextInstant(), true
	}
	return p.at.Add(time.Duration(float64(elapsed) * p.speed)), true
}

// nextInstant is the time of the next event not applied (never before the
// clock), or the end.
func (p *player) nextInstant() time.Time {
	if p.next >= len(p.events) {
		return p.end
	}
	if t := p.events[p.next].Time; t.After(p.at) {
		return t
	}
	return p.at
}

// playTo moves the replay forward to t (at most the end): it applies, in
// recorded order, every event up to the first one later than t, then
// judges the screen at t, as a tick of a live dashboard does.
func (m *model) playTo(t time.Time) {
	m.applyBatch(m.replay.advance(t))
	m.now = m.replay.at
	m.table.recount(m.now)
	m.refresh()
	m.syncDetail()
}

// advance moves the clock to t (at most the end) and returns, in
// recorded order, every event up to the first one later than t.
func (p *player) advance(t time.Time) []watch.Event {
	if t.After(p.end) {
		t = p.end
	}
	var batch []watch.Event
	for p.next < len(p.events) && !p.events[p.next].Time.After(t) {
		batch = append(batch, p.events[p.next])
		p.next++
	}
	if t.After(p.at) {
		p.at = t
	}
	return batch
}

// applyBatch folds a batch of events into the model, as a live batch is.
func (m *model) applyBatch(evs []watch.Event) {
	for i := range evs {
		m.apply(&evs[i])
	}
	m.refresh()
}

// seek moves the replay to t, from the start again when t is behind it:
// the model is pure, so the screen at t is the recording up to t.
func (m *model) seek(t time.Time) {
	p := m.replay
	if t.Before(p.start) {
		t = p.start
	}
	if t.Before(p.at) {
		key := m.table.selectedKey()
		m.resetData()
		p.rewind()
		m.now = p.start
		m.playTo(t)
		m.sizeTable().reselectKey(key)
		return
	}
	m.playTo(t)
}

// rewind goes back to the start: no event applied.
func (p *player) rewind() { p.next, p.at = 0, p.start }

// resetData forgets every Lease, transition and link state, keeping what
// the user chose (filter, sort, screen, cursor place).
func (m *model) resetData() {
	m.table.reset()
	m.trans = newTransitionsPane(m.common)
	m.links.reset(m.replay.start)
}

// nextTransition is the time of the next change of holder (a transition
// or a release) not yet applied.
func (p *player) nextTransition() (time.Time, bool) {
	for i := p.next; i < len(p.events); i++ {
		if tp := p.events[i].Type; tp == watch.EventTransition || tp == watch.EventReleased {
			return p.events[i].Time, true
		}
	}
	return time.Time{}, false
}

// Update handles the replay's keys: pause, step, speed and seeking. It
// reports whether msg was one, and where the replay goes when it moves.
func (p *player) Update(msg tea.KeyMsg) (to time.Time, move, handled bool) {
	k := p.c.keys
	switch {
	case key.Matches(msg, k.Pause):
		p.paused = !p.paused
	case key.Matches(msg, k.Step):
		p.paused = true
		return p.nextInstant(), true, true
	case key.Matches(msg, k.Faster), key.Matches(msg, k.Slower):
		i := slices.Index(replaySpeeds, p.speed)
		if i < 0 {
			i = slices.Index(replaySpeeds, 1)
		}
		if key.Matches(msg, k.Faster) {
			i = min(i+1, len(replaySpeeds)-1)
		} else {
			i = max(i-1, 0)
		}
		p.speed = replaySpeeds[i]
	case key.Matches(msg, k.Back10):
		return p.at.Add(-10 * time.Second), true, true
	case key.Matches(msg, k.Forward10):
		return p.at.Add(10 * time.Second), true, true
	case key.Matches(msg, k.Back1m):
		return p.at.Add(-time.Minute), true, true
	case key.Matches(msg, k.Forward1m):
		return p.at.Add(time.Minute), true, true
	case key.Matches(msg, k.NextTransition):
		if t, ok := p.nextTransition(); ok {
			p.paused = true
			return t, true, true
		}
	case key.Matches(msg, k.Start):
		return p.start, true, true
	case key.Matches(msg, k.End):
		return p.end, true, true
	default:
		return time.Time{}, false, false
	}
	return time.Time{}, false, true
}

// View is the replay's part of the status line: state, the recording's
// clock and the speed.
func (p *player) View() (styled, plain string) {
	c := p.c
	clock := c.now.Local().Format("15:04:05.0")
	speed := "×max"
	if p.speed > 0 {
		speed = "×" + strconv.FormatFloat(p.speed, 'f', -1, 64)
	}
	switch {
	case p.done():
		plain = "■ end " + clock
		return c.p.dim.on(plain), plain
	case p.paused:
		plain = "‖ paused " + clock + " " + speed
		return c.p.warn.on(plain), plain
	}
	plain = "▶ replay " + clock + " " + speed
	return c.p.good.on(plain), plain
}
