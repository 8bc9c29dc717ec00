package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/leader-elector/leader-elector/watch"
)

// errLines is the connection problem and its fix, then a side note,
// word-wrapped to at most four lines so the fix is not cut off at 80
// columns.
func (m *model) errLines() []string {
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

// problemLines is the connection problem and, for a link refused the
// Leases (watch's message names the missing right, not the binding that
// grants it), the fix; with several contexts, each one's problem after its
// name. A damaged recording says so at its end.
func (m *model) problemLines() []string {
	w := max(1, m.width)
	var lines []string
	ended := m.conns[0].state == connEnded
	for i := range m.conns {
		c := &m.conns[i]
		if ended && i > 0 {
			break // the stream ended for all: say it once
		}
		msg := c.message
		if msg != "" && m.multi && !ended {
			msg = Inert(m.contexts[i]) + ": " + msg
		}
		if msg != "" {
			lines = append(lines, strings.Split(ansi.Wrap(msg, w, ""), "\n")...)
		}
		if c.state == watch.ConnForbidden {
			fix := m.rbacFix()
			if m.multi {
				fix = strings.Replace(fix, " (the role", " --context "+Inert(m.contexts[i])+" (the role", 1)
			}
			lines = append(lines, strings.Split(ansi.Wrap(fix, w, ""), "\n")...)
		}
	}
	if m.replay != nil && m.replay.done() && m.replay.damage != "" {
		lines = append(lines, strings.Split(ansi.Wrap(Inert(m.replay.damage), w, ""), "\n")...)
	}
	return lines
}

// hasProblem says whether there is a problem line to show.
func (m *model) hasProblem() bool {
	for i := range m.conns {
		if m.conns[i].message != "" {
			return true
		}
	}
	return m.replay != nil && m.replay.done() && m.replay.damage != ""
}

// allLinks says whether every context's link is in one of states.
func (m *model) allLinks(states ...watch.ConnState) bool {
	for i := range m.conns {
		if !slices.Contains(states, m.conns[i].state) {
			return false
		}
	}
	return true
}

// rbacFix names the read-only role shipped in deploy/watch-rbac and
// the binding that grants it where the user looks.
func (m *model) rbacFix() string {
	if m.opts.AllNamespaces {
		return "Fix: kubectl create clusterrolebinding watch-leases-$USER --clusterrole=leader-elector-watch --user=$USER (the role: deploy/watch-rbac)"
	}
	ns := Inert(m.opts.Namespace)
	return "Fix: kubectl create rolebinding watch-leases-$USER --clusterrole=leader-elector-watch --user=$USER -n " + ns + " (the role: deploy/watch-rbac)"
}

// viewErrLines renders the connection problem, at most n lines.
func (m *model) viewErrLines(b *strings.Builder, n int) {
	p := m.p.bad
	if m.allLinks(connEnded, watch.ConnConnected) {
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
