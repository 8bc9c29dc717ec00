package tui

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// filterInput is the `/` prompt and the text the table is narrowed by:
// rows whose "ns/name holder" contains it.
type filterInput struct {
	c      *common
	input  textinput.Model
	active bool   // the prompt has the keys
	text   string // the filter in force, "" for none
}

func newFilterInput(c *common) filterInput {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "namespace/name or holder"
	in.Cursor.SetMode(cursor.CursorStatic)
	return filterInput{c: c, input: in}
}

// open gives the prompt the keys, starting from the filter in force.
func (f filterInput) open() (filterInput, tea.Cmd) {
	f.active = true
	f.input.SetValue(f.text)
	f.input.CursorEnd()
	cmd := f.input.Focus()
	return f, cmd
}

// Update edits the filter as the user types: enter keeps it, esc clears
// it. With the prompt closed, esc clears the filter in force.
func (f filterInput) Update(msg tea.Msg) (filterInput, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return f, nil
	}
	if !f.active {
		if key.Matches(k, f.c.keys.Back) {
			f.text = ""
		}
		return f, nil
	}
	switch k.String() {
	case "enter":
		f.active = false
		f.input.Blur()
		return f, nil
	case "esc":
		f.active = false
		f.input.Blur()
		f.text = ""
		return f, nil
	case "ctrl+c":
		return f, tea.Quit
	}
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	f.text = f.input.Value()
	return f, cmd
}

// View is the prompt line of the footer while the prompt is open.
func (f filterInput) View() string {
	return truncate(f.input.View()+f.c.p.dim.on("  enter keeps • esc clears"), f.c.width)
}

// label is the filter in force as the footer keeps it in sight.
func (f filterInput) label() string {
	return "filter: " + truncate(Inert(f.text), max(1, f.c.width/3))
}
