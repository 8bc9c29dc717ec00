package tui

import (
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/leader-elector/leader-elector/watch"
)

// groupHolderCell is a group's holder cell in w cells: its owners and the
// shards each holds ("pod-a 2 · pod-b 2"), then "2 unowned" (warning) and
// "3 moves/5m". When narrow the owners go first, the last ones becoming
// "+2", then the moves; the unowned mark stays as long as it fits. plain
// is the cell without styling (under the cursor's reverse video), styled
// with it.
func (c *common) groupHolderCell(g *group, w int) (plain, styled string) {
	type mark struct {
		text string
		p    paint
	}
	var marks []mark
	if g.unowned > 0 {
		marks = append(marks, mark{strconv.Itoa(g.unowned) + " unowned", c.p.warn})
	}
	if n := g.movesSince(c.now); n > 0 {
		marks = append(marks, mark{strconv.Itoa(n) + " moves/5m", paint{}})
	}
	marksW := func() int {
		n := 0
		for _, m := range marks {
			n += 2 + cells(m.text)
		}
		return n
	}
	// Owners keep room for one of them (or all, when shorter) before the
	// moves are dropped, then the unowned mark.
	for len(marks) > 0 && len(g.owners) > 0 && w-marksW() < min(12, cells(ownersText(g.owners, 1<<20))) {
		marks = marks[:len(marks)-1]
	}
	owners := g.ownersIn(max(0, w-marksW()))
	if len(g.owners) == 0 {
		owners = "-"
	}
	var p, s strings.Builder
	p.WriteString(owners)
	s.WriteString(owners)
	for _, m := range marks {
		p.WriteString("  " + m.text)
		s.WriteString("  " + m.p.on(m.text))
	}
	if cells(p.String()) > w {
		return fit(p.String(), w), "" // too narrow for any mark: one plain run
	}
	pad := strings.Repeat(" ", w-cells(p.String()))
	return p.String() + pad, s.String() + pad
}

// ownersIn is the owners in at most w cells: whole names when they all
// fit, else their tails (shortOwners), as many as fit.
func (g *group) ownersIn(w int) string {
	if g.short == nil || cells(ownersText(g.owners, 1<<20)) <= w {
		return ownersText(g.owners, w)
	}
	return ownersText(g.short, w)
}

// ownersText is the owners in at most w cells: as many whole as fit, the
// rest counted ("pod-a 3 · pod-b 3 · +2"), or the first cut in the middle.
func ownersText(owners []owner, w int) string {
	entry := func(o owner) string { return o.name + " " + strconv.Itoa(o.count) }
	var b strings.Builder
	for i, o := range owners {
		if i > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(entry(o))
	}
	if all := b.String(); cells(all) <= w || len(owners) == 0 {
		return all
	}
	for k := len(owners) - 1; k >= 1; k-- {
		b.Reset()
		for i := range k {
			b.WriteString(entry(owners[i]) + " · ")
		}
		b.WriteString("+" + strconv.Itoa(len(owners)-k))
		if cells(b.String()) <= w {
			return b.String()
		}
	}
	return middle(entry(owners[0]), w)
}

// groupContent is the detail of a group's row: what it adds up to, every
// shard, every member, and the shards' transitions. Every API string is
// inert.
func (d detailView) groupContent(r *row) string {
	c := d.c
	g := r.grp
	now := c.now
	bd := r.badge(now)
	var b strings.Builder
	field := d.head(&b, "Shard group "+r.ns+"/"+Inert(g.name), bd)
	if c.multi {
		field("context", r.ctxName)
	}
	shards := strconv.Itoa(int(g.m)) + " (" + strconv.Itoa(int(g.m)-g.unowned) + " held"
	if g.unowned > 0 {
		shards += ", " + c.p.warn.on(strconv.Itoa(g.unowned)+" unowned")
	}
	field("shards", shards+")")
	field("owners", orNone(g.ownersIn(max(1, c.width-20))))
	field("moves", strconv.Itoa(g.movesSince(now))+c.p.dim.on(" in the last 5m (shards that took a new holder)"))
	field("transitions", strconv.Itoa(int(r.lease.Transitions))+c.p.dim.on(" (leaseTransitions, summed)"))
	field("hand-over", "per shard: leader-elector handover "+r.ns+"/"+Inert(g.name)+"-shard-N")

	c.detailSection(&b, "SHARDS", len(g.shards) == 0 && g.m == 0, "none seen yet")
	c.groupShards(&b, g)
	c.detailSection(&b, "MEMBERS (one per live replica)", len(g.members) == 0, "none: no replica of the group runs, or none has published its member Lease yet")
	c.groupMembers(&b, g)
	c.detailSection(&b, "TRANSITIONS (newest first)", len(r.history) == 0, "none seen since the dashboard started")
	keyW := 0 // the shard's Lease names each line
	for i := range r.history {
		keyW = max(keyW, cells(r.history[i].key))
	}
	for i := len(r.history) - 1; i >= 0; i-- {
		t := r.history[i]
		b.WriteString(c.transitionLine(&t, min(keyW, max(12, c.width/3)), c.width))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// groupShards lists shards 0..M-1 (and any left beyond M by a resize):
// number, holder, badge, renewal, countdown and transitions.
func (c *common) groupShards(b *strings.Builder, g *group) {
	n := max(int(g.m), len(g.shards))
	holderW := 6
	for i := range g.shards {
		holderW = max(holderW, cells(Inert(g.shards[i].Holder)))
	}
	holderW = min(holderW, 40)
	if n > 0 {
		b.WriteString(c.p.dim.on(truncate("  "+fit("SHARD", 5)+"  "+fit("HOLDER", holderW)+"  "+fit("STATUS", 9)+"  "+fit("RENEWED", 9)+"  "+fit("EXPIRES", 14)+"  TRANS", c.width)))
		b.WriteByte('\n')
	}
	for i := range n {
		var l *watch.LeaseState
		if i < len(g.shards) && g.shards[i].Name != "" {
			l = &g.shards[i]
		}
		num := fit(strconv.Itoa(i), 5)
		if l == nil {
			b.WriteString(truncate("  "+num+"  "+fit("-", holderW)+"  ", c.width))
			b.WriteString(c.p.warn.on(truncate("no Lease yet: nobody has taken it", max(0, c.width-holderW-11))))
			b.WriteByte('\n')
			continue
		}
		bd := badgeOf(l, c.now)
		holder, hp := fitMiddle(Inert(l.Holder), holderW), paint{}
		if l.Holder == "" {
			holder, hp = fit("-", holderW), c.p.warn
		}
		expires, ep := c.expiresCell(l, bd, 14)
		line := "  " + num + "  " + hp.on(holder) + "  " + c.p.badges[bd].on(fit(bd.String(), 9)) + "  " +
			fit(since(c.now, lastRenewal(l)), 9) + "  " + ep.on(expires) + "  " + fitRight(strconv.Itoa(int(l.Transitions)), 5)
		b.WriteString(c.fitLine(line))
		b.WriteByte('\n')
	}
}

// groupMembers lists the member Leases by identity: live while renewed,
// expired once their duration passed without a renewal.
func (c *common) groupMembers(b *strings.Builder, g *group) {
	names := make([]string, 0, len(g.members))
	idW := 8
	for name, l := range g.members {
		names = append(names, name)
		idW = max(idW, cells(Inert(l.Holder)))
	}
	idW = min(idW, 40)
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(g.members[a].Holder, g.members[b].Holder) })
	if len(names) > 0 {
		b.WriteString(c.p.dim.on(truncate("  "+fit("IDENTITY", idW)+"  "+fit("STATE", 9)+"  "+fit("RENEWED", 9)+"  EXPIRES", c.width)))
		b.WriteByte('\n')
	}
	for _, name := range names {
		l := g.members[name]
		id := Inert(l.Holder)
		if id == "" {
			id = "(" + Inert(name) + ")"
		}
		state, p := "live", c.p.good
		switch badgeOf(&l, c.now) {
		case badgeExpired:
			state, p = "expired", c.p.bad
		case badgeReleased, badgeNoHolder:
			state, p = "left", c.p.dim
		}
		expires, ep := c.expiresCell(&l, badgeOf(&l, c.now), 14)
		line := "  " + fitMiddle(id, idW) + "  " + p.on(fit(state, 9)) + "  " + fit(since(c.now, lastRenewal(&l)), 9) + "  " + ep.on(expires)
		b.WriteString(c.fitLine(line))
		b.WriteByte('\n')
	}
}

// fitLine trims a line's trailing blanks and cuts it to the width,
// measured without its styling, so a narrow detail never wraps a row.
func (c *common) fitLine(line string) string {
	return ansi.Truncate(strings.TrimRight(line, " "), c.width, "…")
}
