package tui

import (
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
	m.viewErrLines(&b, l.errLine)
	if m.screen == screenDetail {
		b.WriteString(m.detail.sized(l.detail).View())
	} else {
		m.viewTable(&b, l.table)
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
