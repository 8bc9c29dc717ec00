package tui

import (
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"k8s.io/utils/clock"
)

// maxTransitions bounds the transitions pane's memory.
const maxTransitions = 500

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

// connection is the watch's link to the API server as the status line shows it.
type connection struct {
	state   string    // "connecting", "connected", "lost", "forbidden", "ended"
	since   time.Time // when it entered this state, our clock
	message string    // Inert; what failed and how to fix it
}

// model is the dashboard's state. Update is pure (no I/O, time only from
// messages), so tests drive it with messages and compare View with goldens.
type model struct {
	opts  Options
	clock clock.PassiveClock
	src   *source // nil in tests that feed events by hand
	st    styles
	p     paints
	keys  keyMap
	help  help.Model

	width, height int
	now           time.Time

	store       *store
	transitions []transition // oldest first, bounded by maxTransitions
	conn        connection
	note        string // Inert; a side problem (no Pods to judge orphans)
	synced      bool

	screen   screen
	focus    pane
	showHelp bool

	filtering  bool
	filter     textinput.Model
	filterText string

	sortBy   sortKey
	showNode bool

	cursor      int // index into store.visible
	offset      int // first visible row
	transOffset int // first visible transition (0 = newest)

	detail    viewport.Model
	detailKey string
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
	f := textinput.New()
	f.Prompt = "/"
	f.Placeholder = "namespace/name or holder"
	f.Cursor.SetMode(cursor.CursorStatic)
	h := help.New()
	h.Styles = st.help
	return &model{
		opts:     opts,
		clock:    c,
		src:      src,
		st:       st,
		p:        st.paints(),
		keys:     defaultKeys(),
		help:     h,
		width:    80,
		height:   24,
		now:      c.Now(),
		store:    newStore(),
		conn:     connection{state: "connecting", since: c.Now()},
		filter:   f,
		showNode: opts.ShowNodeLeases,
		detail:   viewport.New(80, 20),
	}
}

// Init starts listening for events and the clock.
func (m *model) Init() tea.Cmd {
	return tea.Batch(m.listen(), m.tick())
}

// tick asks for the next frame's time from the model's clock.
func (m *model) tick() tea.Cmd {
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

// hideNodeLeases reports whether kube-node-lease rows are left out: under -A
// unless shown with `n`. Watching kube-node-lease itself shows them.
func (m *model) hideNodeLeases() bool {
	return m.opts.AllNamespaces && !m.showNode
}

// selectedKey is the key of the row under the cursor, "" when none.
func (m *model) selectedKey() string {
	if m.cursor < 0 || m.cursor >= len(m.store.visible) {
		return ""
	}
	return m.store.visible[m.cursor].key
}

// selected is the row under the cursor, nil when none.
func (m *model) selected() *row {
	if m.cursor < 0 || m.cursor >= len(m.store.visible) {
		return nil
	}
	return m.store.visible[m.cursor]
}

// reselect keeps the cursor on the same Lease after a re-sort (rows are
// compared by pointer: a deleted Lease's row is never reused).
func (m *model) reselect(sel *row) {
	if sel != nil {
		if m.cursor < len(m.store.visible) && m.store.visible[m.cursor] == sel {
			m.clampCursor()
			return
		}
		for i, r := range m.store.visible {
			if r == sel {
				m.cursor = i
				m.clampCursor()
				return
			}
		}
	}
	m.clampCursor()
}

func (m *model) clampCursor() {
	n := len(m.store.visible)
	m.cursor = max(0, min(m.cursor, n-1))
	rows := m.tableRows()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if rows > 0 && m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = max(0, min(m.offset, n-rows))
}
