package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// keyMap holds the dashboard's bindings, chosen as k9s and kubectl users
// expect them. It implements help.KeyMap so `?` shows them all.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Move                                    key.Binding // hint only: up and down in one
	Detail, Back, Filter, Sort, Pane        key.Binding
	NodeLeases, Help, Quit                  key.Binding

	// Handover is H, offered only when the dashboard may write.
	handover bool
	Handover key.Binding

	// groups: a shard group is shown, so the full help explains its row
	// (legend entries are bindings no key press matches).
	groups                      bool
	OwnerLegend, Unowned, Moves key.Binding

	// A replay's keys, shown only when replaying.
	replay                                  bool
	Pause, Step, Faster, Slower             key.Binding
	Back10, Forward10, Back1m, Forward1m    key.Binding
	Seek, NextTransition, Start, End, Speed key.Binding // Seek and Speed: hints only
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
		Handover:   key.NewBinding(key.WithKeys("H"), key.WithHelp("H", "hand over")),

		OwnerLegend: legend("pod 2", "holds 2 shards"),
		Unowned:     legend("2 unowned", "shards unheld"),
		Moves:       legend("3 moves/5m", "new holders, 5m"),

		Pause:          key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Step:           key.NewBinding(key.WithKeys("."), key.WithHelp(".", "step")),
		Faster:         key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:         key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "slower")),
		Speed:          key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "speed")),
		Back10:         key.NewBinding(key.WithKeys("left"), key.WithHelp("←", "back 10s")),
		Forward10:      key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "forward 10s")),
		Back1m:         key.NewBinding(key.WithKeys("["), key.WithHelp("[", "back 1m")),
		Forward1m:      key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "forward 1m")),
		Seek:           key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←→/[]", "seek")),
		NextTransition: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "next transition")),
		Start:          key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "start")),
		End:            key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "end")),
	}
}

// ShortHelp is the one-line hint under the table.
func (k keyMap) ShortHelp() []key.Binding {
	if k.replay {
		return []key.Binding{k.Pause, k.Step, k.Seek, k.NextTransition, k.Speed, k.Move, k.Detail, k.Help, k.Quit}
	}
	return []key.Binding{k.Move, k.Detail, k.Filter, k.Sort, k.Pane, k.Help, k.Quit}
}

// FullHelp is what `?` shows, one column per group.
func (k keyMap) FullHelp() [][]key.Binding {
	if k.replay {
		return [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			{k.Detail, k.Back, k.Pane, k.Filter, k.Sort, k.Help, k.Quit},
			{k.Pause, k.Step, k.Faster, k.Slower, k.Start, k.End},
			{k.Back10, k.Forward10, k.Back1m, k.Forward1m, k.NextTransition},
		}
	}
	groups := [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Detail, k.Back, k.Pane},
		{k.Filter, k.Sort, k.NodeLeases},
		{k.Help, k.Quit},
	}
	if k.handover {
		groups[2] = append(groups[2], k.Handover)
	}
	if k.groups {
		groups[3] = append(groups[3], k.OwnerLegend, k.Unowned, k.Moves)
	}
	return groups
}

// legend is a line of the full help that explains a sight, not a key:
// bubbles' help shows only bindings with keys, so it gets one no terminal
// sends.
func legend(sight, meaning string) key.Binding {
	return key.NewBinding(key.WithKeys("\x00legend"), key.WithHelp(sight, meaning))
}

// detailHelp is the hint line of the detail screen.
func (k keyMap) detailHelp() []key.Binding {
	return []key.Binding{k.Move, k.PageDown, k.Back, k.Help, k.Quit}
}

// motion is how far a movement key moves a list of page rows a page: a
// row, a page, or to either end (a delta past any list); ok is false for
// any other key.
func (k keyMap) motion(msg tea.KeyMsg, page int) (delta int, ok bool) {
	switch {
	case key.Matches(msg, k.Up):
		return -1, true
	case key.Matches(msg, k.Down):
		return 1, true
	case key.Matches(msg, k.PageUp):
		return -page, true
	case key.Matches(msg, k.PageDown):
		return page, true
	case key.Matches(msg, k.Top):
		return -1 << 30, true
	case key.Matches(msg, k.Bottom):
		return 1 << 30, true
	}
	return 0, false
}
