package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap holds the dashboard's bindings, chosen as k9s and kubectl users
// expect them. It implements help.KeyMap so `?` shows them all.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Move                                    key.Binding // hint only: up and down in one
	Detail, Back, Filter, Sort, Pane        key.Binding
	NodeLeases, Help, Quit                  key.Binding
}

func defaultKeys() keyMap {
	return keyMap{
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Move:       key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑↓/jk", "move")),
		PageUp:     key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown", "ctrl+f", " "), key.WithHelp("pgdn", "page down")),
		Top:        key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Detail:     key.NewBinding(key.WithKeys("enter", "d"), key.WithHelp("enter", "detail")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Pane:       key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "pane")),
		NodeLeases: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "node leases")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line hint under the table.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Move, k.Detail, k.Filter, k.Sort, k.Pane, k.Help, k.Quit}
}

// FullHelp is what `?` shows, one column per group.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Detail, k.Back, k.Pane},
		{k.Filter, k.Sort, k.NodeLeases},
		{k.Help, k.Quit},
	}
}

// detailHelp is the hint line of the detail screen.
func (k keyMap) detailHelp() []key.Binding {
	return []key.Binding{k.Move, k.PageDown, k.Back, k.Help, k.Quit}
}
