package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// paint is a style reduced to the escape codes around its text, so a frame
// of hundreds of cells does not run lipgloss's layout engine per cell.
// Under the ASCII profile (NO_COLOR, tests) both halves are empty.
type paint struct{ pre, post string }

func paintOf(s lipgloss.Style) paint {
	const mark = "X" // SGR codes hold only digits, ";", "[" and "m"
	out := s.Render(mark)
	i := strings.Index(out, mark)
	if i < 0 {
		return paint{}
	}
	return paint{pre: out[:i], post: out[i+len(mark):]}
}

func (p paint) on(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}

// cells is the width of s in terminal cells; printable ASCII (nearly every
// Kubernetes name) is measured without grapheme segmentation.
func cells(s string) int {
	if isPlainASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// fit pads or truncates s (printable, no escapes: it went through Inert) to
// exactly w cells, with an ellipsis when cut.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := cells(s)
	if n == w {
		return s
	}
	if n < w {
		return s + strings.Repeat(" ", w-n)
	}
	t := ansi.Truncate(s, w, "…")
	if tw := cells(t); tw < w {
		t += strings.Repeat(" ", w-tw) // a wide rune did not fit
	}
	return t
}

// fitRight is fit with the text against the right edge (numbers).
func fitRight(s string, w int) string {
	n := cells(s)
	if n >= w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-n) + s
}

// fitMiddle is fit that cuts the middle rather than the end: holder
// identities differ in their tail (a pod's hash), so "my-con…4-x2x9k"
// says more than "my-controller…".
func fitMiddle(s string, w int) string {
	if cells(s) <= w {
		return fit(s, w)
	}
	return fit(middle(s, w), w)
}

// middle shortens s to at most w cells with an ellipsis in the middle.
func middle(s string, w int) string {
	n := cells(s)
	if n <= w {
		return s
	}
	if w < 5 {
		return ansi.Truncate(s, w, "…")
	}
	head := (w - 1) / 2
	tail := w - 1 - head
	return ansi.Truncate(s, head, "") + "…" + ansi.TruncateLeft(s, n-tail, "")
}
