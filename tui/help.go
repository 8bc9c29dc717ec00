package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// helpView is the key hints of the footer and the full help `?` opens.
type helpView struct {
	c    *common
	h    help.Model
	show bool // the full help is open
}

func newHelpView(c *common) helpView {
	h := help.New()
	h.Styles = c.st.help
	return helpView{c: c, h: h}
}

// Update follows the width; `?` opens and closes the full help, esc
// closes it.
func (v helpView) Update(msg tea.Msg) (helpView, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.h.Width = msg.Width
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, v.c.keys.Help):
			v.show = !v.show
		case key.Matches(msg, v.c.keys.Back):
			v.show = false
		}
	}
	return v, nil
}

// fullHeight is how many lines the full help takes.
func (v helpView) fullHeight() int {
	return strings.Count(v.h.FullHelpView(v.c.keys.FullHelp()), "\n") + 1
}

// View is the full help, one column per group.
func (v helpView) View() string {
	lines := strings.Split(v.h.FullHelpView(v.c.keys.FullHelp()), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}

// hints is the one-line help of bindings, at the component's width.
func (v helpView) hints(bindings []key.Binding) string {
	return v.h.ShortHelpView(bindings)
}

// hintsIn is the one-line help of bindings in width cells, when something
// else shares the line.
func (v helpView) hintsIn(bindings []key.Binding, width int) string {
	h := v.h
	h.Width = width
	return h.ShortHelpView(bindings)
}
