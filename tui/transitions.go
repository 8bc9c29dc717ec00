package tui

import (
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// maxTransitions bounds the transitions pane's memory.
const maxTransitions = 500

// transitionsPane is the pane of holder changes under the table, newest
// first, scrolled with the keys when it has the focus.
type transitionsPane struct {
	c      *common
	list   []transition // oldest first, bounded by maxTransitions
	offset int          // first visible transition (0 = newest)

	// Set by the root from its layout before routing or rendering.
	height  int // title + transitions
	focused bool
}

func newTransitionsPane(c *common) transitionsPane {
	return transitionsPane{c: c}
}

// sized is the pane in height lines, with or without the focus.
func (p transitionsPane) sized(height int, focused bool) transitionsPane {
	p.height, p.focused = height, focused
	return p
}

// rows is how many transitions fit under the title.
func (p transitionsPane) rows() int { return max(0, p.height-1) }

// add records t, keeping the lines the user scrolled to in place.
func (p transitionsPane) add(t transition) transitionsPane {
	if len(p.list) == maxTransitions {
		// Drop the oldest half at once: amortised O(1) per transition.
		n := copy(p.list, p.list[maxTransitions/2:])
		p.list = p.list[:n]
	}
	p.list = append(p.list, t)
	if p.offset > 0 {
		p.offset++
	}
	return p
}

// keyOf names a Lease in the pane: its name alone when one
// namespace is watched (the status line names it), else "ns/name"; with
// several contexts, the context first.
func (p transitionsPane) keyOf(r *row) string { return p.keyOfIn(r, r.name) }

// keyOfIn names the Lease name (Inert) of r's namespace and context: a
// shard group's row has a Lease per shard.
func (p transitionsPane) keyOfIn(r *row, name string) string {
	key := name
	if p.c.opts.AllNamespaces {
		key = r.ns + "/" + name
	}
	if p.c.multi {
		key = r.ctxName + "  " + key
	}
	return key
}

// Update scrolls the pane.
func (p transitionsPane) Update(msg tea.Msg) (transitionsPane, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, nil
	}
	if delta, ok := p.c.keys.motion(k, max(1, p.rows())); ok {
		p = p.scroll(delta)
	}
	return p, nil
}

func (p transitionsPane) scroll(delta int) transitionsPane {
	p.offset = max(0, min(p.offset+delta, len(p.list)-p.rows()))
	return p
}

// View renders the title and the transitions in p.height lines.
func (p transitionsPane) View() string {
	height := p.height
	if height <= 0 {
		return ""
	}
	c := p.c
	var b strings.Builder
	b.Grow(c.width * height * 2)
	title := "TRANSITIONS"
	style := c.p.header
	if p.focused {
		title = "▶ " + title
		style = c.p.focus
	}
	title += " (newest first)"
	if n := len(p.list); n > 0 {
		title += "  " + strconv.Itoa(n)
	}
	if p.offset > 0 {
		title += "  (" + strconv.Itoa(p.offset) + " newer above)"
	}
	b.WriteString(style.on(truncate(title, c.width)))
	b.WriteByte('\n')
	rows := height - 1
	if len(p.list) == 0 && rows > 0 {
		b.WriteString(c.p.dim.on(truncate("  none yet: a change of holder shows here with its leaderless gap", c.width)))
		b.WriteByte('\n')
		rows--
	}
	keyW := 0
	for i := 0; i < rows; i++ {
		j := len(p.list) - 1 - p.offset - i
		if j < 0 {
			break
		}
		keyW = max(keyW, cells(p.list[j].key))
	}
	keyW = min(keyW, max(12, c.width/3))
	for i := 0; i < rows; i++ {
		j := len(p.list) - 1 - p.offset - i
		if j >= 0 {
			b.WriteString(c.transitionLine(&p.list[j], keyW, c.width))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// transitionLine is "13:04:05  ns/name  pod-a -> pod-b  gap 3.2s". When
// narrow, the holders are shortened rather than the gap, and the new
// holder keeps at least half the room.
func (c *common) transitionLine(t *transition, keyW, width int) string {
	var s strings.Builder
	s.WriteString("  ")
	s.WriteString(t.at.Local().Format(time.TimeOnly))
	s.WriteString("  ")
	if keyW > 0 {
		s.WriteString(fit(t.key, keyW))
		s.WriteString("  ")
	}
	from, to := orNone(t.from), orNone(t.to)
	arrow, suffix := " -> ", ""
	if t.released {
		to, arrow = "", " released"
	} else if t.hasGap {
		suffix = "  gap " + age(t.gap)
	}
	avail := width - cells(s.String()) - cells(suffix) - cells(arrow)
	fw, tw := cells(from), cells(to)
	if fw+tw > avail && avail > 2 {
		half := avail / 2
		switch {
		case fw <= half:
			to = middle(to, avail-fw)
		case tw <= avail-half:
			from = middle(from, avail-tw)
		default:
			from, to = middle(from, half), middle(to, avail-half)
		}
	}
	s.WriteString(from)
	s.WriteString(arrow)
	s.WriteString(to)
	s.WriteString(suffix)
	line := truncate(s.String(), width)
	if t.gap >= 5*time.Second {
		return c.p.warn.on(line) // a long leaderless gap is worth a look
	}
	return line
}

// orNone spells an empty holder.
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
