package tui

import (
	"strconv"
	"strings"
	"time"
)

// viewTransitions renders the pane of holder changes, newest first.
func (m *model) viewTransitions(b *strings.Builder, height int) {
	if height <= 0 {
		return
	}
	title := "TRANSITIONS"
	p := m.p.header
	if m.focus == paneTransitions {
		title = "▶ " + title
		p = m.p.focus
	}
	title += " (newest first)"
	if n := len(m.transitions); n > 0 {
		title += "  " + strconv.Itoa(n)
	}
	if m.transOffset > 0 {
		title += "  (" + strconv.Itoa(m.transOffset) + " newer above)"
	}
	b.WriteString(p.on(truncate(title, m.width)))
	b.WriteByte('\n')
	rows := height - 1
	if len(m.transitions) == 0 && rows > 0 {
		b.WriteString(m.p.dim.on(truncate("  none yet: a change of holder shows here with its leaderless gap", m.width)))
		b.WriteByte('\n')
		rows--
	}
	keyW := 0
	for i := 0; i < rows; i++ {
		j := len(m.transitions) - 1 - m.transOffset - i
		if j < 0 {
			break
		}
		keyW = max(keyW, cells(m.transitions[j].key))
	}
	keyW = min(keyW, max(12, m.width/3))
	for i := 0; i < rows; i++ {
		j := len(m.transitions) - 1 - m.transOffset - i
		if j >= 0 {
			b.WriteString(m.transitionLine(&m.transitions[j], keyW, m.width))
		}
		b.WriteByte('\n')
	}
}

// transitionLine is "13:04:05  ns/name  pod-a -> pod-b  gap 3.2s". When
// narrow, the holders are shortened rather than the gap, and the new
// holder keeps at least half the room.
func (m *model) transitionLine(t *transition, keyW, width int) string {
	var s strings.Builder
	s.WriteString("  ")
	s.WriteString(t.at.Local().Format(time.TimeOnly))
	s.WriteString("  ")
	if keyW > 0 {
		s.WriteString(fit(t.key, keyW))
		s.WriteString("  ")
	}
	from, to := orNone(t.from), orNone(t.to)
	arrow, suffix := " -> ", ""
	if t.released {
		to, arrow = "", " released"
	} else if t.hasGap {
		suffix = "  gap " + age(t.gap)
	}
	avail := width - cells(s.String()) - cells(suffix) - cells(arrow)
	fw, tw := cells(from), cells(to)
	if fw+tw > avail && avail > 2 {
		half := avail / 2
		switch {
		case fw <= half:
			to = middle(to, avail-fw)
		case tw <= avail-half:
			from = middle(from, avail-tw)
		default:
			from, to = middle(from, half), middle(to, avail-half)
		}
	}
	s.WriteString(from)
	s.WriteString(arrow)
	s.WriteString(to)
	s.WriteString(suffix)
	line := truncate(s.String(), width)
	if t.gap >= 5*time.Second {
		return m.p.warn.on(line) // a long leaderless gap is worth a look
	}
	return line
}

// orNone spells an empty holder.
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
