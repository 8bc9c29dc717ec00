package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// detailView is the detail screen: one Lease in full, in a viewport.
type detailView struct {
	c   *common
	vp  viewport.Model
	key string // the Lease shown

	height int // lines to draw, set by the root from its layout in View
}

func newDetailView(c *common) detailView {
	return detailView{c: c, vp: viewport.New(80, 20)}
}

// open shows the Lease key from its top.
func (d detailView) open(key string) detailView {
	d.key = key
	d.vp.GotoTop()
	return d
}

// sync refreshes the viewport's size and content from the Lease in rows;
// the root calls it in Update (after events, ticks, resizes) so View only
// reads.
func (d detailView) sync(rows map[string]*row, height int) detailView {
	d.vp.Width, d.vp.Height = d.c.width, max(1, height)
	d.vp.SetContent(d.content(rows))
	return d
}

// Update scrolls the record.
func (d detailView) Update(msg tea.Msg) (detailView, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return d, nil
	}
	keys := d.c.keys
	switch {
	case key.Matches(k, keys.Top):
		d.vp.GotoTop()
	case key.Matches(k, keys.Bottom):
		d.vp.GotoBottom()
	default:
		// A row or a page (the viewport's height), as the viewport's own
		// ScrollUp, ScrollDown, PageUp and PageDown do.
		if delta, ok := keys.motion(k, d.vp.Height); ok && delta < 0 {
			d.vp.ScrollUp(-delta)
		} else if ok {
			d.vp.ScrollDown(delta)
		}
	}
	return d, nil
}

// sized is the view drawn in height lines.
func (d detailView) sized(height int) detailView {
	d.height = height
	return d
}

// View renders the record into d.height lines.
func (d detailView) View() string {
	if d.height <= 0 {
		return ""
	}
	var b strings.Builder
	lines := strings.Split(d.vp.View(), "\n")
	for i := 0; i < d.height; i++ {
		if i < len(lines) {
			b.WriteString(strings.TrimRight(lines[i], " "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// scrollHint says whether there is more below when the record is taller
// than the screen ("more ↓" or "end"), "" when it fits.
func (d detailView) scrollHint() string {
	if d.vp.TotalLineCount() <= d.vp.VisibleLineCount() {
		return ""
	}
	if !d.vp.AtBottom() {
		return "more ↓"
	}
	return "end"
}

// head writes a detail view's title with its badge, and returns how to
// write one "name value" line under it.
func (d detailView) head(b *strings.Builder, title string, bd badge) func(name, value string) {
	p := d.c.p
	b.WriteString(p.title.on(title))
	b.WriteString("  ")
	b.WriteString(p.badges[bd].on("[" + bd.String() + "]"))
	b.WriteString("\n\n")
	return func(name, value string) {
		b.WriteString("  ")
		b.WriteString(p.dim.on(fit(name, 18)))
		b.WriteString(value)
		b.WriteByte('\n')
	}
}

// detailContent is the whole record of one Lease, its labels, its own
// transitions and its LeaseCandidates. Every API string is inert.
func (d detailView) content(rows map[string]*row) string {
	c := d.c
	r, ok := rows[d.key]
	if !ok {
		return c.p.dim.on("  Lease " + Inert(d.key) + " was deleted. esc goes back.")
	}
	if r.grp != nil {
		return d.groupContent(r)
	}
	l := &r.lease
	now := c.now
	bd := badgeOf(l, now)
	var b strings.Builder
	field := d.head(&b, "Lease "+r.ns+"/"+r.name, bd)
	holder := r.holder
	if holder == "" {
		holder = "(none)"
	}
	if c.multi {
		field("context", r.ctxName)
	}
	field("holder", holder)
	if l.PreferredHolder != "" {
		field("preferred holder", Inert(l.PreferredHolder))
	}
	if l.Strategy != "" {
		field("strategy", Inert(l.Strategy))
	}
	if l.Priority != 0 {
		field("priority", strconv.Itoa(int(l.Priority)))
	}
	switch l.HandoverTo {
	case "":
	case "*":
		field("hand-over", "asked, to any replica")
	default:
		field("hand-over", "asked, to "+Inert(l.HandoverTo))
	}
	field("acquired", stamp(l.AcquireTime)+heldSuffix(r, bd, now))
	renewed := stamp(l.RenewTime)
	if !l.RenewTime.IsZero() {
		renewed += "  (" + since(now, lastRenewal(l))
		if l.RenewInterval > 0 {
			renewed += ", every " + age(l.RenewInterval)
		}
		renewed += ")"
	}
	field("renewed", renewed)
	field("lease duration", strconv.Itoa(int(l.LeaseDurationSeconds))+"s")
	expires, p := c.expiresCell(l, bd, 20)
	field("expires", p.on(strings.TrimRight(expires, " ")))
	if !l.Observed.IsZero() {
		field("observed", l.Observed.Local().Format("15:04:05.0")+c.p.dim.on("  (our clock: the countdown starts here)"))
	}
	field("transitions", strconv.Itoa(int(l.Transitions)))
	if l.Flapping {
		field("flapping", "yes: many transitions in a short window")
	}
	if l.Orphan {
		field("orphan", "yes: the holder names no Pod in "+r.ns)
	}
	if l.ResourceVersion != "" {
		field("resourceVersion", Inert(l.ResourceVersion))
	}
	field("heartbeat", heartbeat(now, l.Renewals, 40)+c.p.dim.on(" (last 40s)"))

	c.detailSection(&b, "LABELS", len(l.Labels) == 0, "none")
	keys := make([]string, 0, len(l.Labels))
	for k := range l.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("  " + Inert(k) + "=" + Inert(l.Labels[k]) + "\n")
	}

	c.detailSection(&b, "TRANSITIONS (newest first)", len(r.history) == 0, "none seen since the dashboard started")
	for i := len(r.history) - 1; i >= 0; i-- {
		t := r.history[i]
		b.WriteString(c.transitionLine(&t, 0, c.width))
		b.WriteByte('\n')
	}

	c.detailSection(&b, "CANDIDATES", len(l.Candidates) == 0, "none (no LeaseCandidates name this Lease, or the cluster does not serve them)")
	if len(l.Candidates) > 0 {
		b.WriteString(c.p.dim.on("  " + fit("NAME", 30) + "  " + fit("BINARY", 10) + "  " + fit("EMULATION", 10) + "  " + fit("STRATEGY", 22) + "  " + "RENEWED"))
		b.WriteByte('\n')
	}
	for _, c := range l.Candidates {
		b.WriteString("  " + fit(Inert(c.Name), 30) + "  " + fit(Inert(c.BinaryVersion), 10) + "  " + fit(Inert(c.EmulationVersion), 10) + "  " + fit(Inert(c.Strategy), 22) + "  " + since(now, c.RenewTime))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// detailSection starts a section of the detail view with its heading, and
// says what stands for nothing when the section is empty.
func (c *common) detailSection(b *strings.Builder, title string, empty bool, none string) {
	b.WriteString("\n")
	b.WriteString(c.p.header.on(title))
	b.WriteByte('\n')
	if empty {
		b.WriteString(c.p.dim.on("  " + none))
		b.WriteByte('\n')
	}
}

// stamp is an RFC 3339 time in UTC as the API has it, or "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func heldSuffix(r *row, bd badge, now time.Time) string {
	if h := heldFor(r, bd, now); h != "-" {
		return "  (held for " + h + ")"
	}
	return ""
}
