package tui

import (
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/leader-elector/leader-elector/watch"
)

type leaseState = watch.LeaseState

// tableView is the table of Leases: the store of every Lease the watch
// reported, the filter and order they are shown in, and the cursor. Events
// reach the store only through it.
type tableView struct {
	c        *common
	store    *store
	filter   string  // the filter in force, "" for none
	sortBy   sortKey // the order
	showNode bool    // kube-node-lease rows shown under -A
	cursor   int     // index into store.visible
	offset   int     // first visible row

	// Set by the root from its layout before routing or drawing.
	height  int    // column header + rows
	focused bool   // the cursor's mark shows
	empty   string // why there are no rows, when there are none
}

func newTableView(c *common) tableView {
	return tableView{c: c, store: newStore(), showNode: c.opts.ShowNodeLeases}
}

// sized is the table in height lines.
func (t tableView) sized(height int) tableView {
	t.height = height
	return t
}

// rows is how many Lease rows fit under the header.
func (t *tableView) rows() int { return max(0, t.height-1) }

// Update moves the cursor, cycles the order (s) and shows or hides the
// node Leases (n, under -A).
func (t tableView) Update(msg tea.Msg) (tableView, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return t, nil
	}
	keys := t.c.keys
	if delta, ok := keys.motion(k, max(1, t.rows())); ok {
		t.move(delta)
		return t, nil
	}
	switch {
	case key.Matches(k, keys.Sort):
		t.sortBy = (t.sortBy + 1) % sortKeys
		t.store.resort = true
		t.refresh()
	case key.Matches(k, keys.NodeLeases):
		if t.c.opts.AllNamespaces {
			t.showNode = !t.showNode
			t.store.dirty = true
			t.refresh()
		}
	}
	return t, nil
}

// move shifts the cursor by delta rows.
func (t *tableView) move(delta int) {
	t.cursor += delta
	t.clamp()
}

// setFilter narrows the rows to those whose "ns/name holder" contains
// text.
func (t *tableView) setFilter(text string) {
	if text == t.filter {
		return
	}
	t.filter = text
	t.store.dirty = true
	t.refresh()
}

// upsert applies one Lease state judged at now, and marks what the state
// may have moved for the next refresh. It returns the row and the holder
// before.
func (t *tableView) upsert(ctx string, l *watch.LeaseState, now time.Time) (r *row, prevHolder string) {
	if old, ok := t.store.rows[rowKey(ctx, l)]; ok {
		prevHolder = old.lease.Holder
	}
	r, _, holderChanged := t.store.upsert(ctx, l, now)
	switch {
	case holderChanged && t.filter != "":
		t.store.dirty = true // the row may enter or leave the filter
	case t.sortBy != sortName:
		t.store.markMoved(r) // any other order may depend on what changed
	}
	return r, prevHolder
}

// remove forgets the Lease key.
func (t *tableView) remove(key string) { t.store.remove(key) }

// recount judges every row's badge again at now (time alone turns held
// into expired); under the status order the rows it changed move.
func (t *tableView) recount(now time.Time) {
	t.store.recount(now, t.sortBy == sortStatus)
}

// leases is how many Leases the store holds, hidden or not.
func (t *tableView) leases() int { return len(t.store.rows) }

// shown is how many rows pass the filter and the node-Lease toggle.
func (t *tableView) shown() int { return len(t.store.visible) }

// reselectKey puts the cursor back on the Lease key, if it is still there.
func (t *tableView) reselectKey(key string) {
	if r, ok := t.store.rows[key]; ok {
		t.reselect(r)
	}
}

// reset forgets every Lease, keeping the filter, order and cursor place.
func (t *tableView) reset() { t.store = newStore() }

// hideNodeLeases reports whether kube-node-lease rows are left out: under -A
// unless shown with `n`. Watching kube-node-lease itself shows them.
func (t *tableView) hideNodeLeases() bool {
	return t.c.opts.AllNamespaces && !t.showNode
}

// selectedKey is the key of the row under the cursor, "" when none.
func (t *tableView) selectedKey() string {
	if t.cursor < 0 || t.cursor >= len(t.store.visible) {
		return ""
	}
	return t.store.visible[t.cursor].key
}

// selected is the row under the cursor, nil when none.
func (t *tableView) selected() *row {
	if t.cursor < 0 || t.cursor >= len(t.store.visible) {
		return nil
	}
	return t.store.visible[t.cursor]
}

// reselect keeps the cursor on the same Lease after a re-sort (rows are
// compared by pointer: a deleted Lease's row is never reused).
func (t *tableView) reselect(sel *row) {
	if sel != nil {
		if t.cursor < len(t.store.visible) && t.store.visible[t.cursor] == sel {
			t.clamp()
			return
		}
		for i, r := range t.store.visible {
			if r == sel {
				t.cursor = i
				t.clamp()
				return
			}
		}
	}
	t.clamp()
}

// clamp keeps the cursor on a row and in the window of rows shown.
func (t *tableView) clamp() {
	n := len(t.store.visible)
	t.cursor = max(0, min(t.cursor, n-1))
	rows := t.rows()
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if rows > 0 && t.cursor >= t.offset+rows {
		t.offset = t.cursor - rows + 1
	}
	t.offset = max(0, min(t.offset, n-rows))
}

// position is where the cursor is among more rows than fit ("3/120"),
// "" when all fit.
func (t tableView) position() string {
	if n := len(t.store.visible); n > t.rows() {
		return strconv.Itoa(t.cursor+1) + "/" + strconv.Itoa(n)
	}
	return ""
}

// View renders the column header and the visible window of rows only:
// the cost of a frame does not grow with the number of Leases.
func (t tableView) View() string {
	height := t.height
	if height <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(t.c.width * height * 2)
	ids, widths := t.columns(t.c.width)
	// Header.
	var h strings.Builder
	h.WriteString(strings.Repeat(" ", markWidth))
	for i, id := range ids {
		if i > 0 {
			h.WriteString("  ")
		}
		title := colSpecs[id].title
		if id == t.sortColumn() {
			title += "↓"
		}
		if colSpecs[id].right {
			h.WriteString(fitRight(title, widths[i]))
		} else {
			h.WriteString(fit(title, widths[i]))
		}
	}
	b.WriteString(t.c.p.header.on(strings.TrimRight(h.String(), " ")))
	b.WriteByte('\n')
	rows := height - 1
	vis := t.store.visible
	if len(vis) == 0 && rows > 0 {
		b.WriteString(truncate(t.empty, t.c.width))
		b.WriteByte('\n')
		rows--
	}
	end := min(len(vis), t.offset+rows)
	for i := t.offset; i < end; i++ {
		t.viewRow(&b, vis[i], ids, widths, i == t.cursor)
		b.WriteByte('\n')
	}
	for i := max(0, end-t.offset); i < rows; i++ {
		b.WriteByte('\n')
	}
	return b.String()
}

// sortColumn is the column whose header carries the sort arrow.
func (t *tableView) sortColumn() colID {
	return [...]colID{colName, colStatus, colExpires, colRenewed, colTransitions, colHolder}[t.sortBy]
}

// viewRow renders one Lease as one line.
func (t *tableView) viewRow(b *strings.Builder, r *row, ids []colID, widths []int, selected bool) {
	c := t.c
	now := c.now
	l := &r.lease
	bd := r.badge(now)
	var line strings.Builder
	if selected && t.focused {
		line.WriteString("▶ ")
	} else {
		line.WriteString("  ")
	}
	for i, id := range ids {
		if i > 0 {
			line.WriteString("  ")
		}
		w := widths[i]
		var cell, styled string // styled: a cell of several paints, "" for one
		var p paint
		switch id {
		case colContext:
			cell = fit(r.ctxName, w)
		case colNamespace:
			cell = fit(r.ns, w)
		case colName:
			cell = fit(r.name, w)
		case colHolder:
			if r.grp != nil {
				cell, styled = c.groupHolderCell(r.grp, w)
				break
			}
			if r.holder == "" {
				cell, p = fit("-", w), c.p.dim
			} else {
				cell = fitMiddle(r.holder, w)
			}
		case colStatus:
			cell, p = fit(bd.String(), w), c.p.badges[bd]
		case colHeld:
			cell = fit(heldFor(r, bd, now), w)
		case colRenewed:
			cell = fit(since(now, r.renewed), w)
		case colExpires:
			cell, p = c.expiresCell(l, bd, w)
		case colTransitions:
			cell = fitRight(strconv.Itoa(int(l.Transitions)), w)
		case colHeartbeat:
			cell, p = heartbeat(now, l.Renewals, w), c.p.good
			if bd != badgeHeld {
				p = c.p.dim
			}
		}
		switch {
		case selected:
			line.WriteString(cell) // one reverse-video run below, not per cell
		case styled != "":
			line.WriteString(styled)
		default:
			line.WriteString(p.on(cell))
		}
	}
	s := strings.TrimRight(line.String(), " ")
	if selected {
		s = c.p.selected.on(s)
	}
	b.WriteString(s)
}

// heldFor is how long the current holder has held: since we saw it take
// over (our clock), or from acquireTime (the cluster's) when it already
// held the Lease when the dashboard started.
func heldFor(r *row, bd badge, now time.Time) string {
	l := &r.lease
	if l.Holder == "" || bd == badgeReleased || bd == badgeNoHolder || r.grp != nil {
		return "-" // a group's shards were each taken at their own time
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
