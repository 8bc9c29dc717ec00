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
	b.WriteString(m.viewTop())
	b.WriteByte('\n')
	if l.errLine > 0 {
		b.WriteString(m.viewErrLine())
		b.WriteByte('\n')
	}
	if m.screen == screenDetail {
		m.viewDetail(&b, l.detail)
	} else {
		m.viewTable(&b, l.table)
		m.viewTransitions(&b, l.trans)
	}
	b.WriteString(m.viewFooter())
	return b.String()
}

// viewTop is the status line: what is watched, counts, the connection.
// When it does not fit, the title goes first, then the context, then the
// counts; the connection state always stays.
func (m *Model) viewTop() string {
	type piece struct {
		styled, plain string
		drop          int // higher goes first
	}
	var pieces []piece
	pieces = append(pieces, piece{m.p.title.on("leader-elector"), "leader-elector", 4})
	if m.opts.Context != "" {
		c := truncate(Inert(m.opts.Context), 24)
		pieces = append(pieces, piece{c, c, 3})
	}
	scope := "all namespaces"
	if !m.opts.AllNamespaces {
		scope = "ns " + truncate(Inert(m.opts.Namespace), 24)
	}
	pieces = append(pieces, piece{scope, scope, 1})
	counts, plainCounts := m.counts()
	pieces = append(pieces, piece{counts, plainCounts, 2})
	conn, plainConn := m.connText()
	const sep = "  │  "
	width := func() int {
		n := ansi.StringWidth(plainConn) + 2
		for _, p := range pieces {
			n += ansi.StringWidth(p.plain) + len(sep) - 4 // │ is one cell
		}
		return n
	}
	for width() > m.width && len(pieces) > 1 {
		worst := 0
		for i, p := range pieces {
			if p.drop > pieces[worst].drop {
				worst = i
			}
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
	pad := m.width - ansi.StringWidth(plainLeft) - ansi.StringWidth(plainConn)
	if pad < 1 {
		return truncate(plainLeft+" "+plainConn, m.width)
	}
	return left + strings.Repeat(" ", pad) + conn
}

// counts is "12 leases: 9 held, 1 expired" over the rows not hidden.
func (m *Model) counts() (styled, plain string) {
	var n [badgeHeld + 1]int
	total := 0
	hide := m.hideNodeLeases()
	for _, r := range m.store.rows {
		if hide && r.node {
			continue
		}
		n[badgeOf(&r.lease, m.now)]++
		total++
	}
	word := " leases"
	if total == 1 {
		word = " lease"
	}
	styled = strconv.Itoa(total) + word
	plain = styled
	for _, bd := range []badge{badgeHeld, badgeExpired, badgeFlapping, badgeOrphan, badgeReleased, badgeNoHolder} {
		if n[bd] == 0 {
			continue
		}
		s := strconv.Itoa(n[bd]) + " " + bd.String()
		styled += " " + m.p.badges[bd].on(s)
		plain += " " + s
	}
	if hide && m.store.nodeRows > 0 {
		s := " (+" + strconv.Itoa(m.store.nodeRows) + " node: n)"
		styled += m.p.dim.on(s)
		plain += s
	}
	return styled, plain
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

// viewErrLine is the connection problem and its fix, on its own line.
func (m *Model) viewErrLine() string {
	msg := m.conn.message
	if m.conn.state == "forbidden" && !strings.Contains(msg, "kubectl") {
		msg += " (fix: kubectl create role lease-watcher --verb=get,list,watch --resource=leases.coordination.k8s.io, then a rolebinding)"
	}
	p := m.p.bad
	if m.conn.state == "ended" {
		p = m.p.dim
	}
	return p.on(truncate(msg, m.width))
}

// viewFooter is the key hints, the full help, or the filter prompt.
func (m *Model) viewFooter() string {
	switch {
	case m.filtering:
		return truncate(m.filter.View(), m.width)
	case m.showHelp:
		return m.help.FullHelpView(m.keys.FullHelp())
	}
	hint := m.help.ShortHelpView(m.keys.ShortHelp())
	right := "sort: " + m.sortBy.String()
	if m.filterText != "" {
		right = "filter: " + Inert(m.filterText) + "  " + right
	}
	pad := m.width - ansi.StringWidth(hint) - ansi.StringWidth(right)
	if pad < 2 {
		return hint
	}
	return hint + strings.Repeat(" ", pad) + m.p.dim.on(right)
}

// truncate cuts an escape-free string to w cells.
func truncate(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}
