package tui

import (
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Update applies one message. It does no I/O: events and time arrive as
// messages, and the commands it returns do the waiting.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help, _ = m.help.Update(msg)
		m.sizeTable().clamp()
		m.syncDetail()
		return m, nil
	case replayTickMsg:
		if m.replay != nil {
			if to, move := m.replay.frame(time.Time(msg)); move {
				m.playTo(to)
			}
			return m, m.replayTick()
		}
		return m, nil
	case tickMsg:
		if t := time.Time(msg); t.After(m.now) {
			m.now = t
		}
		// A countdown reaching zero changes a badge: recount, and under the
		// status order move the rows it changed.
		m.table.recount(m.now)
		m.refresh()
		m.syncDetail()
		return m, m.tick()
	case eventsMsg:
		for i := range msg.events {
			m.apply(&msg.events[i])
		}
		m.refresh()
		m.syncDetail()
		if msg.closed {
			m.links.end()
			return m, nil
		}
		return m, m.listen()
	case handoverStartedMsg, handoverProgressMsg, handoverDoneMsg:
		var cmd tea.Cmd
		m.ho, cmd = m.ho.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		return m, m.updateKey(msg)
	}
	return m, nil
}

// updateHandover answers the H key's prompt: y asks, anything else
// cancels.
func (m *model) updateHandover(msg tea.KeyMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if msg.String() != "y" || m.hos == nil {
		m.ho.phase = handoverIdle
		return nil
	}
	m.ho.phase = handoverRunning
	return m.hos.start(m.ho.target)
}

// updateKey handles a key press in the current screen.
func (m *model) updateKey(msg tea.KeyMsg) tea.Cmd {
	if m.filter.active {
		return m.updateFilter(msg)
	}
	switch m.ho.phase {
	case handoverConfirm:
		return m.updateHandover(msg)
	case handoverDone: // the result stays until the next key
		m.ho.phase = handoverIdle
	}
	k := m.keys
	switch {
	case msg.String() == "ctrl+c" || key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.help, _ = m.help.Update(msg)
		m.sizeTable().clamp()
		m.syncDetail()
		return nil
	case key.Matches(msg, k.Back):
		switch {
		case m.help.show:
			m.help, _ = m.help.Update(msg)
		case m.screen == screenDetail:
			m.screen = screenTable
		case m.filter.text != "":
			m.updateFilter(msg)
		}
		m.sizeTable().clamp()
		return nil
	}
	if m.replay != nil {
		if to, move, handled := m.replay.Update(msg); handled {
			if move {
				m.seek(to)
			}
			return nil
		}
	}
	if m.screen == screenDetail {
		var cmd tea.Cmd
		m.detail, cmd = m.detail.Update(msg)
		return cmd
	}
	switch {
	case m.focus == paneTransitions && key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom):
		m.trans, _ = m.trans.sized(m.layout().trans, true).Update(msg)
	case key.Matches(msg, k.Detail):
		if r := m.table.selected(); r != nil {
			m.screen = screenDetail
			m.detail = m.detail.open(r.key)
			m.syncDetail()
		}
	case k.handover && key.Matches(msg, k.Handover):
		switch r := m.table.selected(); {
		case r == nil || m.ho.running():
		case r.grp != nil:
			m.ho = m.ho.perShard(r) // a group is many Leases: say how to move one
		default:
			m.ho = m.ho.ask(r)
		}
	case key.Matches(msg, k.Filter):
		var cmd tea.Cmd
		m.filter, cmd = m.filter.open()
		return cmd
	case key.Matches(msg, k.Pane):
		m.focus = 1 - m.focus
	default:
		m.table, _ = m.sizeTable().Update(msg)
	}
	return nil
}

// updateFilter routes a key to the filter; the table follows as the user
// types.
func (m *model) updateFilter(msg tea.Msg) tea.Cmd {
	before := m.filter.text
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	if m.filter.text != before {
		m.sizeTable().setFilter(m.filter.text)
	}
	return cmd
}

// refresh brings the table's rows up to date after a batch of events, a
// tick or a key.
func (m *model) refresh() {
	if m.table.fresh() {
		return
	}
	m.sizeTable().refresh()
}
