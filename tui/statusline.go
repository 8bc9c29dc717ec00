package tui

import (
	"strconv"
	"strings"

	"github.com/leader-elector/leader-elector/watch"
)

// viewTop is the status line: what is watched, counts, the connection.
// When it does not fit, the title goes first, then the context, then the
// counts shrink to the problems only and go; the connection state stays.
func (m *model) viewTop() string {
	type piece struct {
		styled, plain string
		drop          int    // higher goes first
		short         *piece // a shorter form to try before dropping
	}
	var pieces []piece
	pieces = append(pieces, piece{styled: m.p.title.on("leader-elector"), plain: "leader-elector", drop: 4})
	if m.opts.Context != "" && !m.multi {
		c := truncate(Inert(m.opts.Context), 24)
		pieces = append(pieces, piece{styled: c, plain: c, drop: 3})
	}
	scope := "all namespaces"
	if !m.opts.AllNamespaces {
		scope = "ns " + truncate(Inert(m.opts.Namespace), 24)
	}
	pieces = append(pieces, piece{styled: scope, plain: scope, drop: 1})
	if m.links.synced || m.table.leases() > 0 {
		full, short := m.table.counts()
		pieces = append(pieces, piece{styled: full.styled, plain: full.plain, drop: 2,
			short: &piece{styled: short.styled, plain: short.plain, drop: 2}})
	}
	var replay text
	if m.replay != nil {
		s, p := m.replay.View()
		replay = text{styled: s + "  ", plain: p + "  "}
	}
	conn, plainConn := m.links.text(replay)
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
func (t *tableView) counts() (full, short text) {
	p := t.c.p
	hide := t.hideNodeLeases()
	n := t.store.tally[0]
	if !hide {
		for i, c := range t.store.tally[1] {
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
	for _, bd := range []badge{badgeHeld, badgeExpired, badgeFlapping, badgeOrphan, badgeUnowned, badgeReleased, badgeNoHolder} {
		if n[bd] == 0 {
			continue
		}
		s := strconv.Itoa(n[bd]) + " " + bd.String()
		full.add(paint{}, " ")
		full.add(p.badges[bd], s)
		if bd == badgeExpired || bd == badgeFlapping || bd == badgeOrphan || bd == badgeUnowned {
			short.add(paint{}, " ")
			short.add(p.badges[bd], s)
		}
	}
	if hide && t.store.nodeRows > 0 {
		full.add(p.dim, " (+"+strconv.Itoa(t.store.nodeRows)+" node: n)")
	}
	return full, short
}

// text is the right of the status line after prefix (the replay's
// clock when replaying): the link, "● connected", "✗ lost, retrying 3s"
// and the like, or with several contexts each one's ("eu ● us ✗ lost
// 3.0s").
func (v *linksView) text(prefix text) (styled, plain string) {
	t := prefix
	if !v.c.multi {
		s, p := v.linkText(&v.conns[0], false)
		return t.styled + s, t.plain + p
	}
	for i := range v.conns {
		if i > 0 {
			t.add(paint{}, "  ")
		}
		t.add(paint{}, truncate(Inert(v.contexts[i]), 16)+" ")
		s, p := v.linkText(&v.conns[i], true)
		t.styled += s
		t.plain += p
	}
	return t.styled, t.plain
}

// linkText is one link's state; short drops the words of a good state.
func (v *linksView) linkText(c *connection, short bool) (styled, plain string) {
	for_ := age(v.c.now.Sub(c.since))
	switch c.state {
	case watch.ConnConnected:
		plain = "● connected"
		if short {
			plain = "●"
		}
		return v.c.p.good.on(plain), plain
	case watch.ConnConnecting:
		plain = v.c.spinner() + " connecting " + for_
		return v.c.p.warn.on(plain), plain
	case watch.ConnLost:
		plain = "✗ lost, retrying " + for_
		return v.c.p.bad.on(plain), plain
	case watch.ConnForbidden:
		plain = "✗ forbidden"
		return v.c.p.bad.on(plain), plain
	case watch.ConnStopped:
		plain = "✗ stopped"
		return v.c.p.bad.on(plain), plain
	case connEnded:
		plain = "■ watch ended"
		return v.c.p.dim.on(plain), plain
	}
	plain = "✗ " + Inert(string(c.state))
	return v.c.p.bad.on(plain), plain
}
