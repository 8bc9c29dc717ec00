package tui

import "strings"

// viewFooter is the key hints, the full help, or the filter prompt.
func (m *model) viewFooter(fullHelp bool) string {
	switch {
	case m.filter.active:
		return m.filter.View()
	case fullHelp:
		return m.help.View()
	case m.ho.phase != handoverIdle:
		return truncate(m.ho.View(), m.width)
	}
	hints := m.keys.ShortHelp()
	if m.screen == screenDetail {
		hints = m.keys.detailHelp()
	}
	if m.screen == screenDetail {
		hint := truncate(m.help.hints(hints), m.width)
		right := m.detail.scrollHint()
		if right == "" {
			return hint
		}
		// The record is taller than the screen: say there is more below.
		if pad := m.width - cells(hint) - cells(right); pad >= 2 {
			return hint + strings.Repeat(" ", pad) + m.p.dim.on(right)
		}
		return hint
	}
	// An active filter must stay in sight: the hints make room for it. The
	// sort is shown when it fits (the header's arrow shows it anyway).
	if m.filter.text != "" {
		right := m.filter.label()
		w := max(1, m.width-cells(right)-2)
		hint := truncate(m.help.hintsIn(hints, w), w)
		pad := max(1, m.width-cells(hint)-cells(right))
		return truncate(hint+strings.Repeat(" ", pad)+m.p.warn.on(right), m.width)
	}
	hint := truncate(m.help.hints(hints), m.width)
	right := "sort: " + m.table.sortBy.String()
	if pos := m.table.sized(m.layout().table).position(); pos != "" {
		// More Leases than rows: where the cursor is among them.
		right = pos + "  " + right
	}
	pad := m.width - cells(hint) - cells(right)
	if pad < 2 {
		return hint
	}
	return hint + strings.Repeat(" ", pad) + m.p.dim.on(right)
}
