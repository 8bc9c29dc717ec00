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
	green := lipgloss.AdaptiveColor{Light: "#1a7f37", Dark: "#3fb950"}
	yellow := lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#d29922"}
	red := lipgloss.AdaptiveColor{Light: "#cf222e", Dark: "#f85149"}
	grey := lipgloss.AdaptiveColor{Light: "#6e7781", Dark: "#8b949e"}
	blue := lipgloss.AdaptiveColor{Light: "#0969da", Dark: "#58a6ff"}
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
