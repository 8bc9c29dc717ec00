package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/leader-elector/leader-elector/watch"
)

type leaseState = watch.LeaseState

// viewTable renders the column header and the visible window of rows only:
// the cost of a frame does not grow with the number of Leases.
func (m *model) viewTable(b *strings.Builder, height int) {
	if height <= 0 {
		return
	}
	ids, widths := m.columns(m.width)
	// Header.
	var h strings.Builder
	h.WriteString(strings.Repeat(" ", markWidth))
	for i, id := range ids {
		if i > 0 {
			h.WriteString("  ")
		}
		title := colSpecs[id].title
		if id == m.sortColumn() {
			title += "↓"
		}
		if colSpecs[id].right {
			h.WriteString(fitRight(title, widths[i]))
		} else {
			h.WriteString(fit(title, widths[i]))
		}
	}
	b.WriteString(m.p.header.on(strings.TrimRight(h.String(), " ")))
	b.WriteByte('\n')
	rows := height - 1
	vis := m.store.visible
	if len(vis) == 0 && rows > 0 {
		b.WriteString(truncate(m.emptyTableText(), m.width))
		b.WriteByte('\n')
		rows--
	}
	end := min(len(vis), m.offset+rows)
	for i := m.offset; i < end; i++ {
		m.viewRow(b, vis[i], ids, widths, i == m.cursor)
		b.WriteByte('\n')
	}
	for i := max(0, end-m.offset); i < rows; i++ {
		b.WriteByte('\n')
	}
}

// sortColumn is the column whose header carries the sort arrow.
func (m *model) sortColumn() colID {
	return [...]colID{colName, colStatus, colExpires, colRenewed, colTransitions, colHolder}[m.sortBy]
}

// viewRow renders one Lease as one line.
func (m *model) viewRow(b *strings.Builder, r *row, ids []colID, widths []int, selected bool) {
	now := m.now
	l := &r.lease
	bd := badgeOf(l, now)
	var line strings.Builder
	if selected && m.focus == paneLeases {
		line.WriteString("▶ ")
	} else {
		line.WriteString("  ")
	}
	for i, id := range ids {
		if i > 0 {
			line.WriteString("  ")
		}
		w := widths[i]
		var cell string
		var p paint
		switch id {
		case colContext:
			cell = fit(r.ctxName, w)
		case colNamespace:
			cell = fit(r.ns, w)
		case colName:
			cell = fit(r.name, w)
		case colHolder:
			if r.holder == "" {
				cell, p = fit("-", w), m.p.dim
			} else {
				cell = fitMiddle(r.holder, w)
			}
		case colStatus:
			cell, p = fit(bd.String(), w), m.p.badges[bd]
		case colHeld:
			cell = fit(heldFor(r, bd, now), w)
		case colRenewed:
			cell = fit(since(now, r.renewed), w)
		case colExpires:
			cell, p = m.expiresCell(l, bd, w)
		case colTransitions:
			cell = fitRight(strconv.Itoa(int(l.Transitions)), w)
		case colHeartbeat:
			cell, p = heartbeat(now, l.Renewals, w), m.p.good
			if bd != badgeHeld {
				p = m.p.dim
			}
		}
		if selected {
			line.WriteString(cell) // one reverse-video run below, not per cell
		} else {
			line.WriteString(p.on(cell))
		}
	}
	s := strings.TrimRight(line.String(), " ")
	if selected {
		s = m.p.selected.on(s)
	}
	b.WriteString(s)
}

// heldFor is how long the current holder has held: since we saw it take
// over (our clock), or from acquireTime (the cluster's) when it already
// held the Lease when the dashboard started.
func heldFor(r *row, bd badge, now time.Time) string {
	l := &r.lease
	if l.Holder == "" || bd == badgeReleased || bd == badgeNoHolder {
		return "-"
	}
	if n := len(r.history); n > 0 && !r.history[n-1].released && r.history[n-1].to == r.holder {
		return age(now.Sub(r.history[n-1].at))
	}
	if l.AcquireTime.IsZero() {
		return "-"
	}
	return age(now.Sub(l.AcquireTime))
}

// expiresCell is the countdown: a bar of the time left out of the lease
// duration and the seconds left, judged on our clock from when we observed
// the renewal; "late 3.2s" once past; "-" when nobody holds it.
func (c *common) expiresCell(l *leaseState, bd badge, w int) (string, paint) {
	if l.Holder == "" || l.ExpiresAt.IsZero() {
		return fit("-", w), c.p.dim
	}
	left := l.ExpiresAt.Sub(c.now)
	if left <= 0 {
		return fit("late "+age(-left), w), c.p.bad
	}
	text := age(left)
	p := c.p.good
	dur := time.Duration(l.LeaseDurationSeconds) * time.Second
	frac := 1.0
	if dur > 0 {
		frac = float64(left) / float64(dur)
	}
	if frac < 0.34 {
		p = c.p.warn
	}
	if barW := w - 6; barW >= 4 {
		return bar(frac, barW) + " " + fitRight(text, 5), p
	}
	return fit(text, w), p
}

// emptyTableText says why there are no rows.
func (m *model) emptyTableText() string {
	switch {
	case !m.synced && len(m.store.rows) == 0 && len(m.problemLines()) > 0:
		return m.p.dim.on("  No Leases to show until the problem above is fixed.")
	case !m.synced && len(m.store.rows) == 0:
		return "  " + m.spinner() + " listing Leases in " + m.scope() + "…"
	case m.filter.text != "":
		return m.p.dim.on("  No Lease matches " + strconv.Quote(m.filter.text) + " (esc clears the filter)")
	case len(m.store.rows) > 0:
		return m.p.dim.on("  Only node Leases here: press n to show them")
	}
	return m.p.dim.on("  No Leases in " + m.scope() + ".")
}

// spinner animates on the frame clock, so it is exact in tests.
func (m *model) spinner() string {
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	return frames[int(m.now.UnixMilli()/100)%len(frames)]
}

// scope names what is watched: "namespace default" or "all namespaces".
func (m *model) scope() string {
	if m.opts.AllNamespaces {
		return "all namespaces"
	}
	return "namespace " + Inert(m.opts.Namespace)
}
