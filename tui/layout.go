package tui

// layout is how the screen's lines are shared out, computed from the size
// and what is open (help, filter, an error line).
type layout struct {
	top       int // status line
	errLine   int // connection problem, with its fix
	table     int // column header + rows
	trans     int // title + transitions
	footer    int // key hints, full help, or the filter prompt
	fullHelp  bool
	detail    int // detail screen body
	tableRows int
}

// layout shares out m.height. The transitions pane takes a third of the
// body (at least a title and two lines) when there is room for it.
func (m *model) layout() layout {
	l := layout{top: 1, footer: 1}
	if m.height >= 8 {
		l.errLine = len(m.links.errLines(m.damage()))
	} else if (m.links.hasProblem(m.damage()) || m.links.note != "") && m.height >= 4 {
		l.errLine = 1
	}
	if m.help.show && !m.filter.active {
		// Full help only when it leaves room for a few rows.
		if n := m.help.fullHeight(); n <= m.height-l.top-l.errLine-3 {
			l.footer, l.fullHelp = n, true
		}
	}
	if m.height < 2 {
		l.top, l.errLine = 0, 0
	}
	body := max(0, m.height-l.top-l.errLine-l.footer)
	if m.screen == screenDetail {
		l.detail = body
		return l
	}
	if body >= 9 {
		l.trans = max(3, body/3)
	}
	l.table = body - l.trans
	l.tableRows = max(0, l.table-1)
	return l
}

// tableRows is how many Lease rows fit.
func (m *model) tableRows() int { return m.layout().tableRows }
