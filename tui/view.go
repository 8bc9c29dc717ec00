package tui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// View renders the whole screen. It reads the model only; every figure is
// judged at m.now, the time of the last tick or event.
func (m *Model) View() string {
	l := m.layout()
	var b strings.Builder
	b.Grow(m.width * (m.height + 1) * 2)
	if l.top > 0 {
		b.WriteString(m.viewTop())
		b.WriteByte('\n')
	}
	m.viewErrLines(&b, l.errLine)
	if m.screen == screenDetail {
		m.viewDetail(&b, l.detail)
	} else {
		m.viewTable(&b, l.table)
		m.viewTransitions(&b, l.trans)
	}
	b.WriteString(m.viewFooter(l.fullHelp))
	return b.String()
}

// viewTop is the status line: what is watched, counts, the connection.
// When it does not fit, the title goes first, then the context, then the
// counts shrink to the problems only and go; the connection state stays.
func (m *Model) viewTop() string {
	type piece struct {
		styled, plain string
		drop          int    // higher goes first
		short         *piece // a shorter form to try before dropping
	}
	var pieces []piece
	pieces = append(pieces, piece{styled: m.p.title.on("leader-elector"), plain: "leader-elector", drop: 4})
	if m.opts.Context != "" {
		c := truncate(Inert(m.opts.Context), 24)
		pieces = append(pieces, piece{styled: c, plain: c, drop: 3})
	}
	scope := "all namespaces"
	if !m.opts.AllNamespaces {
		scope = "ns " + truncate(Inert(m.opts.Namespace), 24)
	}
	pieces = append(pieces, piece{styled: scope, plain: scope, drop: 1})
	if m.synced || len(m.store.rows) > 0 {
		full, short := m.counts()
		pieces = append(pieces, piece{styled: full.styled, plain: full.plain, drop: 2,
			short: &piece{styled: short.styled, plain: short.plain, drop: 2}})
	}
	conn, plainConn := m.connText()
	const sep = "  │  "
	width := func() int {
		n := cells(plainConn) + 2
		for _, p := range pieces {
			n += cells(p.plain) + 5
		}
		return n
	}
	for width() > m.width && len(pieces) > 1 {
		worst := 0
		for i, p := range pieces {
			if p.drop > pieces[worst].drop || p.drop == pieces[worst].drop && p.short != nil {
				worst = i
			}
		}
		if short := pieces[worst].short; short != nil {
			pieces[worst] = *short
			continue
		}
		pieces = append(pieces[:worst], pieces[worst+1:]...)
	}
	var left, plainLeft string
	for i, p := range pieces {
		if i > 0 {
			left += m.p.dim.on(sep)
			plainLeft += sep
		}
		left += p.styled
		plainLeft += p.plain
	}
	pad := m.width - cells(plainLeft) - cells(plainConn)
	if pad < 1 {
		return truncate(plainLeft+" "+plainConn, m.width)
	}
	return left + strings.Repeat(" ", pad) + conn
}

// text is a string with and without its styling.
type text struct{ styled, plain string }

func (t *text) add(p paint, s string) {
	t.styled += p.on(s)
	t.plain += s
}

// counts is "12 leases 9 held 1 expired ..." over the rows not hidden, and
// a short form with the problems only ("12 leases, 1 expired").
func (m *Model) counts() (full, short text) {
	hide := m.hideNodeLeases()
	n := m.store.tally[0]
	if !hide {
		for i, c := range m.store.tally[1] {
			n[i] += c
		}
	}
	total := 0
	for _, c := range n {
		total += c
	}
	word := " leases"
	if total == 1 {
		word = " lease"
	}
	full.add(paint{}, strconv.Itoa(total)+word)
	short = full
	for _, bd := range []badge{badgeHeld, badgeExpired, badgeFlapping, badgeOrphan, badgeReleased, badgeNoHolder} {
		if n[bd] == 0 {
			continue
		}
		s := strconv.Itoa(n[bd]) + " " + bd.String()
		full.add(paint{}, " ")
		full.add(m.p.badges[bd], s)
		if bd == badgeExpired || bd == badgeFlapping || bd == badgeOrphan {
			short.add(paint{}, " ")
			short.add(m.p.badges[bd], s)
		}
	}
	if hide && m.store.nodeRows > 0 {
		full.add(m.p.dim, " (+"+strconv.Itoa(m.store.nodeRows)+" node: n)")
	}
	return full, short
}

// connText is "● connected", "✗ lost, retrying 3s" and the like.
func (m *Model) connText() (styled, plain string) {
	c := m.conn
	for_ := age(m.now.Sub(c.since))
	switch c.state {
	case "connected":
		plain = "● connected"
		return m.p.good.on(plain), plain
	case "connecting":
		plain = m.spinner() + " connecting " + for_
		return m.p.warn.on(plain), plain
	case "lost":
		plain = "✗ lost, retrying " + for_
		return m.p.bad.on(plain), plain
	case "forbidden":
		plain = "✗ forbidden"
		return m.p.bad.on(plain), plain
	case "ended":
		plain = "■ watch ended"
		return m.p.dim.on(plain), plain
	}
	plain = "✗ " + Inert(c.state)
	return m.p.bad.on(plain), plain
}

// errLines is the connection problem and its fix, then a side note,
// word-wrapped to at most four lines so the fix is not cut off at 80
// columns.
func (m *Model) errLines() []string {
	lines := m.problemLines()
	if m.note != "" && len(lines) < 3 {
		lines = append(lines, strings.Split(ansi.Wrap("note: "+m.note, max(1, m.width), ""), "\n")...)
	}
	if len(lines) > 4 {
		lines = lines[:4]
		lines[3] = truncate(lines[3]+" …", m.width)
	}
	return lines
}

// problemLines is the connection problem and, for an RBAC denial that
// does not say how to fix it, the fix.
func (m *Model) problemLines() []string {
	msg := m.conn.message
	w := max(1, m.width)
	var lines []string
	if msg != "" {
		lines = strings.Split(ansi.Wrap(msg, w, ""), "\n")
	}
	if m.conn.state == "forbidden" && !strings.Contains(msg, "kubectl") {
		lines = append(lines, strings.Split(ansi.Wrap(m.rbacFix(), w, ""), "\n")...)
	}
	return lines
}

// rbacFix names the read-only role shipped in deploy/watch-rbac.yaml and
// the binding that grants it where the user looks.
func (m *Model) rbacFix() string {
	if m.opts.AllNamespaces {
		return "Fix: kubectl create clusterrolebinding watch-leases-$USER --clusterrole=leader-elector-watch --user=$USER (the role: deploy/watch-rbac.yaml)"
	}
	ns := Inert(m.opts.Namespace)
	return "Fix: kubectl create rolebinding watch-leases-$USER --clusterrole=leader-elector-watch --user=$USER -n " + ns + " (the role: deploy/watch-rbac.yaml)"
}

// viewErrLines renders the connection problem, at most n lines.
func (m *Model) viewErrLines(b *strings.Builder, n int) {
	p := m.p.bad
	if m.conn.state == "ended" || m.conn.state == "connected" {
		p = m.p.warn
	}
	lines := m.errLines()
	problem := len(m.problemLines())
	for i := 0; i < n; i++ {
		if i < len(lines) {
			pi := p
			if i >= problem {
				pi = m.p.warn
			}
			b.WriteString(pi.on(truncate(strings.TrimRight(lines[i], " "), m.width)))
		}
		b.WriteByte('\n')
	}
}

// viewFooter is the key hints, the full help, or the filter prompt.
func (m *Model) viewFooter(fullHelp bool) string {
	switch {
	case m.filtering:
		return truncate(m.filter.View()+m.p.dim.on("  enter keeps • esc clears"), m.width)
	case fullHelp:
		lines := strings.Split(m.help.FullHelpView(m.keys.FullHelp()), "\n")
		for i := range lines {
			lines[i] = strings.TrimRight(lines[i], " ")
		}
		return strings.Join(lines, "\n")
	}
	hints := m.keys.ShortHelp()
	if m.screen == screenDetail {
		hints = m.keys.detailHelp()
	}
	if m.screen == screenDetail {
		hint := truncate(m.help.ShortHelpView(hints), m.width)
		if m.detail.TotalLineCount() <= m.detail.VisibleLineCount() {
			return hint
		}
		// The record is taller than the screen: say there is more below.
		right := "end"
		if !m.detail.AtBottom() {
			right = "more ↓"
		}
		if pad := m.width - cells(hint) - cells(right); pad >= 2 {
			return hint + strings.Repeat(" ", pad) + m.p.dim.on(right)
		}
		return hint
	}
	// An active filter must stay in sight: the hints make room for it. The
	// sort is shown when it fits (the header's arrow shows it anyway).
	if m.filterText != "" {
		right := "filter: " + truncate(Inert(m.filterText), max(1, m.width/3))
		h := m.help
		h.Width = max(1, m.width-cells(right)-2)
		hint := truncate(h.ShortHelpView(hints), h.Width)
		pad := max(1, m.width-cells(hint)-cells(right))
		return truncate(hint+strings.Repeat(" ", pad)+m.p.warn.on(right), m.width)
	}
	hint := truncate(m.help.ShortHelpView(hints), m.width)
	right := "sort: " + m.sortBy.String()
	pad := m.width - cells(hint) - cells(right)
	if pad < 2 {
		return hint
	}
	return hint + strings.Repeat(" ", pad) + m.p.dim.on(right)
}

// truncate cuts an escape-free string to w cells.
func truncate(s string, w int) string {
	if cells(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}
