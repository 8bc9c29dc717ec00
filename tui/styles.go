package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// styles is the palette, built on one renderer so its colour profile (none
// under NO_COLOR or when the output is no terminal) applies everywhere.
// Nothing depends on colour alone: the cursor is a ▶, badges are words.
type styles struct {
	title, dim, header, selected, focus lipgloss.Style
	badges                              [badgeHeld + 1]lipgloss.Style
	good, warn, bad                     lipgloss.Style
	help                                help.Styles
}

func newStyles(r *lipgloss.Renderer) styles {
	ns := r.NewStyle
	// Fixed mid-tone colours, readable on dark and light backgrounds alike.
	// Adaptive colours would make Lip Gloss ask the terminal for its
	// background at start (OSC 11): a terminal that does not answer holds
	// the start for seconds, and a late answer can leak in as key presses.
	green := lipgloss.Color("#2da44e")
	yellow := lipgloss.Color("#bf8700")
	red := lipgloss.Color("#e5534b")
	grey := lipgloss.Color("#8c959f")
	blue := lipgloss.Color("#4493f8")
	s := styles{
		title:    ns().Bold(true).Foreground(blue),
		dim:      ns().Foreground(grey),
		header:   ns().Bold(true),
		selected: ns().Reverse(true),
		focus:    ns().Bold(true).Foreground(blue),
		good:     ns().Foreground(green),
		warn:     ns().Foreground(yellow),
		bad:      ns().Foreground(red).Bold(true),
	}
	s.badges[badgeHeld] = s.good
	s.badges[badgeExpired] = s.bad
	s.badges[badgeFlapping] = s.warn
	s.badges[badgeOrphan] = s.warn
	s.badges[badgeUnowned] = s.warn
	s.badges[badgeReleased] = s.dim
	s.badges[badgeNoHolder] = s.dim
	s.help = help.Styles{
		ShortKey:       ns().Foreground(blue),
		ShortDesc:      ns().Foreground(grey),
		ShortSeparator: ns().Foreground(grey),
		Ellipsis:       ns().Foreground(grey),
		FullKey:        ns().Foreground(blue),
		FullDesc:       ns().Foreground(grey),
		FullSeparator:  ns().Foreground(grey),
	}
	return s
}

// paints are the styles reduced to escape codes, for the per-cell hot path.
type paints struct {
	title, dim, header, selected, focus, good, warn, bad paint
	badges                                               [badgeHeld + 1]paint
}

func (s *styles) paints() paints {
	p := paints{
		title: paintOf(s.title), dim: paintOf(s.dim), header: paintOf(s.header),
		selected: paintOf(s.selected), focus: paintOf(s.focus),
		good: paintOf(s.good), warn: paintOf(s.warn), bad: paintOf(s.bad),
	}
	for i := range s.badges {
		p.badges[i] = paintOf(s.badges[i])
	}
	return p
}
