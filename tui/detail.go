package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// syncDetail refreshes the detail viewport's size and content from the
// selected Lease; it runs in Update (after events, ticks, resizes) so View
// only reads.
func (m *model) syncDetail() {
	if m.screen != screenDetail {
		return
	}
	l := m.layout()
	m.detail.Width, m.detail.Height = m.width, max(1, l.detail)
	m.detail.SetContent(m.detailContent())
}

// viewDetail renders the detail screen into height lines.
func (m *model) viewDetail(b *strings.Builder, height int) {
	if height <= 0 {
		return
	}
	v := m.detail.View()
	lines := strings.Split(v, "\n")
	for i := 0; i < height; i++ {
		if i < len(lines) {
			b.WriteString(strings.TrimRight(lines[i], " "))
		}
		b.WriteByte('\n')
	}
}

// detailContent is the whole record of one Lease, its labels, its own
// transitions and its LeaseCandidates. Every API string is inert.
func (m *model) detailContent() string {
	r, ok := m.store.rows[m.detailKey]
	if !ok {
		return m.p.dim.on("  Lease " + Inert(m.detailKey) + " was deleted. esc goes back.")
	}
	l := &r.lease
	now := m.now
	bd := badgeOf(l, now)
	var b strings.Builder
	b.WriteString(m.p.title.on("Lease " + r.ns + "/" + r.name))
	b.WriteString("  ")
	b.WriteString(m.p.badges[bd].on("[" + bd.String() + "]"))
	b.WriteString("\n\n")
	field := func(name, value string) {
		b.WriteString("  ")
		b.WriteString(m.p.dim.on(fit(name, 18)))
		b.WriteString(value)
		b.WriteByte('\n')
	}
	holder := r.holder
	if holder == "" {
		holder = "(none)"
	}
	if m.multi {
		field("context", r.ctxName)
	}
	field("holder", holder)
	if l.PreferredHolder != "" {
		field("preferred holder", Inert(l.PreferredHolder))
	}
	if l.Strategy != "" {
		field("strategy", Inert(l.Strategy))
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
	expires, p := m.expiresCell(l, bd, 20)
	field("expires", p.on(strings.TrimRight(expires, " ")))
	if !l.Observed.IsZero() {
		field("observed", l.Observed.Local().Format("15:04:05.0")+m.p.dim.on("  (our clock: the countdown starts here)"))
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
	field("heartbeat", heartbeat(now, l.Renewals, 40)+m.p.dim.on(" (last 40s)"))

	m.detailSection(&b, "LABELS", len(l.Labels) == 0, "none")
	keys := make([]string, 0, len(l.Labels))
	for k := range l.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("  " + Inert(k) + "=" + Inert(l.Labels[k]) + "\n")
	}

	m.detailSection(&b, "TRANSITIONS (newest first)", len(r.history) == 0, "none seen since the dashboard started")
	for i := len(r.history) - 1; i >= 0; i-- {
		t := r.history[i]
		b.WriteString(m.transitionLine(&t, 0, m.width))
		b.WriteByte('\n')
	}

	m.detailSection(&b, "CANDIDATES", len(l.Candidates) == 0, "none (no LeaseCandidates name this Lease, or the cluster does not serve them)")
	if len(l.Candidates) > 0 {
		b.WriteString(m.p.dim.on("  " + fit("NAME", 30) + "  " + fit("BINARY", 10) + "  " + fit("EMULATION", 10) + "  " + fit("STRATEGY", 22) + "  " + "RENEWED"))
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
func (m *model) detailSection(b *strings.Builder, title string, empty bool, none string) {
	b.WriteString("\n")
	b.WriteString(m.p.header.on(title))
	b.WriteByte('\n')
	if empty {
		b.WriteString(m.p.dim.on("  " + none))
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
