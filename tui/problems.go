package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
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

// problemLines is the connection problem and, for an RBAC denial that
// does not say how to fix it, the fix.
func (m *model) problemLines() []string {
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
