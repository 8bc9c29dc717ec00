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
func (v *linksView) errLines(damage string) []string {
	lines := v.problemLines(damage)
	if v.note != "" && len(lines) < 3 {
		lines = append(lines, strings.Split(ansi.Wrap("note: "+v.note, max(1, v.c.width), ""), "\n")...)
	}
	if len(lines) > 4 {
		lines = lines[:4]
		lines[3] = truncate(lines[3]+" …", v.c.width)
	}
	return lines
}

// problemLines is the connection problem and, for a link refused the
// Leases (watch's message names the missing right, not the binding that
// grants it), the fix; with several contexts, each one's problem after its
// name. A damaged recording says so at its end: damage is what the
// replay says of it then, else "".
func (v *linksView) problemLines(damage string) []string {
	w := max(1, v.c.width)
	var lines []string
	ended := v.conns[0].state == connEnded
	for i := range v.conns {
		c := &v.conns[i]
		if ended && i > 0 {
			break // the stream ended for all: say it once
		}
		msg := c.message
		if msg != "" && v.c.multi && !ended {
			msg = Inert(v.contexts[i]) + ": " + msg
		}
		if msg != "" {
			lines = append(lines, strings.Split(ansi.Wrap(msg, w, ""), "\n")...)
		}
		if c.state == watch.ConnForbidden {
			fix := v.rbacFix()
			if v.c.multi {
				fix = strings.Replace(fix, " (the role", " --context "+Inert(v.contexts[i])+" (the role", 1)
			}
			lines = append(lines, strings.Split(ansi.Wrap(fix, w, ""), "\n")...)
		}
	}
	if damage != "" {
		lines = append(lines, strings.Split(ansi.Wrap(Inert(damage), w, ""), "\n")...)
	}
	return lines
}

// hasProblem says whether there is a problem line to show.
func (v *linksView) hasProblem(damage string) bool {
	for i := range v.conns {
		if v.conns[i].message != "" {
			return true
		}
	}
	return damage != ""
}

// allLinks says whether every context's link is in one of states.
func (v *linksView) allLinks(states ...watch.ConnState) bool {
	for i := range v.conns {
		if !slices.Contains(states, v.conns[i].state) {
			return false
		}
	}
	return true
}

// rbacFix names the read-only role shipped in deploy/watch-rbac and
// the binding that grants it where the user looks.
func (v *linksView) rbacFix() string {
	if v.c.opts.AllNamespaces {
		return "Fix: kubectl create clusterrolebinding watch-leases-$USER --clusterrole=leader-elector-watch --user=$USER (the role: deploy/watch-rbac)"
	}
	ns := Inert(v.c.opts.Namespace)
	return "Fix: kubectl create rolebinding watch-leases-$USER --clusterrole=leader-elector-watch --user=$USER -n " + ns + " (the role: deploy/watch-rbac)"
}

// View renders the connection problem in n lines.
func (v *linksView) View(n int, damage string) string {
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	p := v.c.p.bad
	if v.allLinks(connEnded, watch.ConnConnected) {
		p = v.c.p.warn
	}
	lines := v.errLines(damage)
	problem := len(v.problemLines(damage))
	for i := 0; i < n; i++ {
		if i < len(lines) {
			pi := p
			if i >= problem {
				pi = v.c.p.warn
			}
			b.WriteString(pi.on(truncate(strings.TrimRight(lines[i], " "), v.c.width)))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
