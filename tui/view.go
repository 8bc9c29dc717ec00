package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// View renders the whole screen. It reads the model only; every figure is
// judged at m.now, the time of the last tick or event.
func (m *model) View() string {
	l := m.layout()
	var b strings.Builder
	b.Grow(m.width * (m.height + 1) * 2)
	if l.top > 0 {
		b.WriteString(m.viewTop())
		b.WriteByte('\n')
	}
	b.WriteString(m.links.View(l.errLine, m.damage()))
	if m.screen == screenDetail {
		b.WriteString(m.detail.sized(l.detail).View())
	} else {
		t := m.table.sized(l.table)
		t.focused = m.focus == paneLeases
		if t.shown() == 0 {
			t.empty = m.emptyTableText()
		}
		b.WriteString(t.View())
		b.WriteString(m.trans.sized(l.trans, m.focus == paneTransitions).View())
	}
	b.WriteString(m.viewFooter(l.fullHelp))
	return b.String()
}

// truncate cuts an escape-free string to w cells.
func truncate(s string, w int) string {
	if cells(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// emptyTableText says why there are no rows.
func (m *model) emptyTableText() string {
	switch {
	case !m.links.synced && m.table.leases() == 0 && len(m.links.problemLines(m.damage())) > 0:
		return m.p.dim.on("  No Leases to show until the problem above is fixed.")
	case !m.links.synced && m.table.leases() == 0:
		return "  " + m.spinner() + " listing Leases in " + m.scope() + "…"
	case m.table.filter != "":
		return m.p.dim.on("  No Lease matches " + strconv.Quote(m.table.filter) + " (esc clears the filter)")
	case m.table.leases() > 0:
		return m.p.dim.on("  Only node Leases here: press n to show them")
	}
	return m.p.dim.on("  No Leases in " + m.scope() + ".")
}
