package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"k8s.io/utils/clock"

	"github.com/leader-elector/leader-elector/watch"
)

// tickInterval paces countdowns and "ago" figures: ten frames a second
// keeps "1.8s ago" honest; event batches add at most ten more.
const tickInterval = 100 * time.Millisecond

// screen is what fills the body of the dashboard.
type screen int

const (
	screenTable  screen = iota // Leases above, transitions below
	screenDetail               // one Lease in full
)

func (s screen) String() string { return [...]string{"table", "detail"}[s] }

// pane is which half of the table screen has the keys.
type pane int

const (
	paneLeases pane = iota
	paneTransitions
)

func (p pane) String() string { return [...]string{"leases", "transitions"}[p] }

// common is what every component of the dashboard reads, as glow's
// commonModel: the options, the styles, the key bindings, the size and the
// time every figure is judged at. The root model owns it and alone writes
// it; components hold a pointer to it.
type common struct {
	opts Options
	st   styles
	p    paints
	keys keyMap

	width, height int
	now           time.Time
	multi         bool // several contexts: a CONTEXT column, a link each
}

// model is the dashboard's root, as glow's: it routes and composes. Each
// pane is a component with its own state, Update and View (the table of
// Leases, the transitions pane, the detail screen, the filter prompt, the
// help, the links to the API servers, the replay's player); the root
// feeds events to them, routes keys by screen and focus, shares out the
// lines (layout.go) and stacks their views. Update is pure (no I/O, time
// only from messages), so tests drive it with messages and compare View
// with goldens.
type model struct {
	*common
	clock clock.PassiveClock
	src   *source // nil in tests that feed events by hand

	table  tableView       // the Leases: store, order, filter, cursor
	trans  transitionsPane // holder changes under the table
	detail detailView      // one Lease in full
	filter filterInput     // the / prompt
	help   helpView        // key hints and the full help
	links  linksView       // each context's link and its problems
	replay *player         // set when a recording drives the dashboard
	ho     handoverView    // the H key's prompt, progress and result
	hos    *handovers      // runs them; nil without Options.Handover

	screen screen // what fills the body
	focus  pane   // which half of the table screen has the keys
}

// newModel builds the dashboard model. src is nil when the caller feeds
// eventsMsg itself (tests); r renders the styles (its colour profile decides
// whether there is colour at all).
func newModel(src *source, opts Options, r *lipgloss.Renderer) *model {
	c := opts.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	st := newStyles(r)
	contexts := opts.Contexts
	if len(contexts) == 0 {
		contexts = []string{opts.Context}
	}
	m := &model{
		common: &common{
			opts:   opts,
			st:     st,
			p:      st.paints(),
			keys:   defaultKeys(),
			width:  80,
			height: 24,
			now:    c.Now(),
			multi:  len(contexts) > 1,
		},
		clock: c,
		src:   src,
	}
	m.help = newHelpView(m.common)
	m.links = newLinksView(m.common, contexts, c.Now())
	m.table = newTableView(m.common)
	m.filter = newFilterInput(m.common)
	m.trans = newTransitionsPane(m.common)
	m.detail = newDetailView(m.common)
	m.ho = handoverView{c: m.common}
	if opts.Handover != nil && opts.Replay == nil {
		m.hos = &handovers{ctx: context.Background(), run: opts.Handover}
		m.keys.handover = true
	}
	if opts.Replay != nil {
		m.replay = newPlayer(m.common, opts.Replay)
		m.keys.replay = true
		m.now = m.replay.at
		for i := range m.links.conns {
			m.links.conns[i].since = m.now
		}
		m.playTo(m.replay.start) // what the recording holds at its start
	}
	return m
}

// syncDetail refreshes the detail view from the store when it is shown.
func (m *model) syncDetail() {
	if m.screen != screenDetail {
		return
	}
	m.detail = m.detail.sync(m.table.store.rows, m.layout().detail)
}

// rowContext is the context a Lease row is filed under: "" with one.
func (m *model) rowContext(ev *watch.Event) string {
	if !m.multi {
		return ""
	}
	return ev.Context
}

// Init starts listening for events and the clock.
func (m *model) Init() tea.Cmd {
	if m.replay != nil {
		return m.replayTick()
	}
	return tea.Batch(m.listen(), m.tick())
}

// tick asks for the next frame's time from the model's clock.
func (m *model) tick() tea.Cmd {
	if m.replay != nil {
		return m.replayTick()
	}
	c := m.clock
	return tea.Tick(tickInterval, func(time.Time) tea.Msg { return tickMsg(c.Now()) })
}

// listen asks for the next batch of events, or nothing without a source.
func (m *model) listen() tea.Cmd {
	if m.src == nil {
		return nil
	}
	return m.src.next
}

// sizeTable gives the table its height from the layout, before it moves
// its cursor, and returns it.
func (m *model) sizeTable() *tableView {
	m.table.height = m.layout().table
	return &m.table
}

// spinner animates on the frame clock, so it is exact in tests.
func (c *common) spinner() string {
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	return frames[int(c.now.UnixMilli()/100)%len(frames)]
}

// scope names what is watched: "namespace default" or "all namespaces".
func (c *common) scope() string {
	if c.opts.AllNamespaces {
		return "all namespaces"
	}
	return "namespace " + Inert(c.opts.Namespace)
}
